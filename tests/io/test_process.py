"""The one subprocess runner (vqabench/io/process.py): argument lists, timing, the tail of
the error output in the exception, timeouts."""

from __future__ import annotations

import sys

import pytest

from vqabench.errors import CodecError, FfmpegError
from vqabench.io.process import run_command

PY = sys.executable


def test_output_and_elapsed_time(monkeypatch):
    import types

    from vqabench.io import process

    # the clock read before and after the command (a fake one: the value is pinned)
    clock = iter([10.0, 12.5])
    monkeypatch.setattr(process, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    done = run_command([PY, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")
    assert done.elapsed_s == 2.5


def test_arguments_are_never_read_by_a_shell(tmp_path):
    arg = "a b; echo $HOME > x"
    done = run_command([PY, "-c", "import sys; print(sys.argv[1])", arg])
    assert done.stdout == arg + "\n" and not (tmp_path / "x").exists()


def test_failure_raises_with_the_tail_of_stderr():
    script = "import sys\nfor i in range(20): print(f'line {i}', file=sys.stderr)\nsys.exit(3)"
    with pytest.raises(FfmpegError, match=r"exit code 3\): line 19") as info:
        run_command([PY, "-c", script])
    assert info.value.returncode == 3
    assert info.value.stderr_tail.splitlines() == [f"line {i}" for i in range(12, 20)]
    done = run_command([PY, "-c", script], check=False)
    assert done.returncode == 3


def test_custom_error_gets_stdout_when_stderr_is_empty():
    def error(cmd, returncode, output):
        return CodecError(f"{len(cmd)} arguments failed ({returncode}): {output.strip()}")

    with pytest.raises(CodecError, match=r"^3 arguments failed \(4\): only stdout$"):
        run_command([PY, "-c", "print('only stdout'); raise SystemExit(4)"], error=error)


def test_timeout_and_missing_executable(tmp_path):
    with pytest.raises(FfmpegError, match="timed out after 0.3 s") as info:
        run_command([PY, "-c", "import time; time.sleep(10)"], timeout_s=0.3)
    assert info.value.returncode == -1
    with pytest.raises(OSError):
        run_command([str(tmp_path / "no-such-program")])


def test_binary_output_is_decoded_with_replacement_when_asked():
    """A command that writes non-UTF-8 bytes (a bitstream on stdout) keeps its ASCII text
    with ``errors="replace"``; the strict default refuses it."""
    cmd = [sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'x264 core 164\\xff\\x00!')"]
    assert run_command(cmd, errors="replace").stdout == "x264 core 164\ufffd\x00!"
    with pytest.raises(UnicodeDecodeError):
        run_command(cmd)
