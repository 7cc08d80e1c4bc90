"""Commands that should answer at once import no torch: the list commands and validation
errors (``vqabench codecs list``, a mistyped codec), and the codec list reads ffmpeg's
probe from its cache without changing a character."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import run_cli

_NO_TORCH = """
import sys
from vqabench.cli import main
for argv in {argvs!r}:
    try:
        main(argv)
    except SystemExit as exc:
        print("exit", exc.code, flush=True)
print("runner imported:", "vqabench.runner.run" in sys.modules)
print("torch imported:", "torch" in sys.modules)
"""


@pytest.mark.slow
def test_list_and_validation_errors_import_no_torch(tmp_path):
    """In one fresh interpreter: ``codecs list`` (inr's row included), an unknown codec, a
    bad inr rate point, an unknown metric and an unknown dataset answer, and neither torch nor
    the runner is imported (a config error answers before the runner loads)."""
    argvs = [
        ["codecs", "list"],
        ["run", "--codec", "x246:qp=22"],
        ["run", "--codec", "inr:model=q"],
        ["run", "--metrics", "psnr_yy"],
        ["run", "--dataset", "mni"],
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _NO_TORCH.format(argvs=argvs)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    lines = proc.stdout.splitlines()
    assert [x for x in lines if x.startswith("exit")] == ["exit 0"] + ["exit 2"] * 4
    assert any(x.startswith("inr ") and "torch" in x for x in lines)  # inr's row is listed
    assert "unknown codec 'x246'; did you mean 'x265', 'x264'?" in proc.stderr
    assert "rate point 'model=q' is not allowed" in proc.stderr
    assert "unknown metric 'psnr_yy'" in proc.stderr
    assert "dataset='mni' is neither a built-in dataset" in proc.stderr
    assert "did you mean 'mini'" in proc.stderr
    assert lines[-2:] == ["runner imported: False", "torch imported: False"]


@pytest.mark.slow
def test_codecs_list_from_the_probe_cache_is_the_probed_listing(tmp_path, monkeypatch, capsys):
    """``codecs list`` with an empty cache folder (ffmpeg probed, the cache written) and again
    from the cache (a new process: in-memory cache cleared) print the same listing, whose
    ffmpeg version is the bundled binary's own ``-version``."""
    import re

    from vqabench.io import ffmpeg as ff

    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path))
    ff._info_for.cache_clear()
    assert run_cli(["codecs", "list"]) == 0
    probed = capsys.readouterr().out
    assert list((tmp_path / "ffmpeg-info").glob("*.json"))
    ff._info_for.cache_clear()
    assert run_cli(["codecs", "list"]) == 0
    assert capsys.readouterr().out == probed
    out = subprocess.run(
        [ff.ffmpeg_path(), "-version"], capture_output=True, text=True, check=True
    ).stdout
    version = re.search(r"ffmpeg version (\S+)", out).group(1)
    x264 = next(x for x in probed.splitlines() if x.startswith("x264 "))
    assert f"ffmpeg {version} " in x264
