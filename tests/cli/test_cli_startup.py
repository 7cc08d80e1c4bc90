"""Commands that should answer at once import no torch: the list commands and validation
errors (``vqabench codecs list``, a mistyped codec), and the codec list reads ffmpeg's
probe from its cache without changing a character. None of them imports pydantic (Typer's
adapters: vqabench/cli/coercion.py parses the plain parameters) or the installed click, and
``-h``, ``--version`` and the errors do not import rich."""

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
print("imported:", sorted({{m.partition(".")[0] for m in sys.modules}} & {absent!r}))
"""


@pytest.mark.slow
def test_list_and_validation_errors_import_no_torch(tmp_path):
    """In one fresh interpreter: ``codecs list`` (inr's row included), an unknown codec, a
    bad inr rate point, an unknown metric and an unknown dataset answer, and neither torch nor
    the runner is imported (a config error answers before the runner loads), nor numba (the
    SSIM kernel's, loaded when a plane is measured)."""
    argvs = [
        ["codecs", "list"],
        ["run", "--codec", "x246:qp=22"],
        ["run", "--codec", "inr:model=q"],
        ["run", "--metrics", "psnr_yy"],
        ["run", "--dataset", "mni"],
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _NO_TORCH.format(argvs=argvs, absent={"pydantic", "click", "numba"}),
        ],
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
    assert lines[-3:] == ["runner imported: False", "torch imported: False", "imported: []"]


@pytest.mark.slow
def test_help_version_and_errors_import_no_pydantic_click_or_rich(tmp_path):
    """``-h``, ``--version``, ``models list`` and validation errors (a parameter of each
    plain type given, so that each is parsed) answer without pydantic, click or rich (a
    value Typer's own adapter must judge, ``--threads x``, still imports pydantic)."""
    argvs = [
        ["-h"],
        ["--version"],
        ["models", "list"],
        [
            "run",
            "--threads",
            "2",
            "--jobs",
            "2",
            "--frames",
            "4",
            "--out",
            str(tmp_path),
            "--dataset",
            "nope",
        ],
        ["run", "--codec", "x246:qp=22", "--sequences", "a,b"],
        ["metrics", "compute", "psnr_yy", "-", str(tmp_path / "d.y4m")],
    ]
    absent = {"pydantic", "click", "rich"}
    proc = subprocess.run(
        [sys.executable, "-c", _NO_TORCH.format(argvs=argvs, absent=absent)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    lines = proc.stdout.splitlines()
    assert [x for x in lines if x.startswith("exit")] == ["exit 0"] * 3 + ["exit 2"] * 3
    assert "vqabench 0.2.0" in lines and "Usage: vqabench [OPTIONS] COMMAND [ARGS]..." in lines
    errors = proc.stderr.splitlines()
    assert errors[0].startswith("vqabench: error: dataset='nope' is neither a built-in")
    assert errors[1].startswith("vqabench: error: unknown codec 'x246'")
    assert errors[2].startswith("vqabench: error: unknown metric 'psnr_yy'")
    assert lines[-1] == "imported: []"


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


@pytest.mark.slow
def test_help_version_lists_and_run_errors_import_no_numpy(tmp_path):
    """``-h``, ``--version``, the codec, dataset and model lists and a run's codec and
    dataset errors answer without numpy (io.video, the built-in datasets and the compressai
    codec import it where they use it; a config imports the metrics only when it names one),
    pydantic, click or torch."""
    argvs = [
        ["-h"],
        ["--version"],
        ["codecs", "list"],
        ["datasets", "list"],
        ["models", "list"],
        ["run", "--codec", "x246:qp=22"],
        ["run", "--codec", "x264:qp=99"],
        ["run", "--dataset", "nope"],
    ]
    absent = {"numpy", "pydantic", "click", "torch"}
    proc = subprocess.run(
        [sys.executable, "-c", _NO_TORCH.format(argvs=argvs, absent=absent)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    lines = proc.stdout.splitlines()
    assert [x for x in lines if x.startswith("exit")] == ["exit 0"] * 5 + ["exit 2"] * 3
    errors = proc.stderr.splitlines()
    assert errors[0].startswith("vqabench: error: unknown codec 'x246'; did you mean")
    assert "qp=99" in errors[1] and errors[2].startswith("vqabench: error: dataset='nope'")
    assert any(x.startswith("x264 ") for x in lines)  # codecs list
    assert "mini\tbuilt in (no --root)" in lines  # datasets list
    assert any(x.startswith("pt_loss") for x in lines)  # models list
    assert lines[-1] == "imported: []"
