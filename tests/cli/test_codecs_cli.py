"""``vqabench codecs list`` and ``--json`` on every list command."""

from __future__ import annotations

import json
import re
import subprocess

import imageio_ffmpeg
import pytest

from tests.conftest import run_cli
from vqabench import codecs, datasets, metrics, models
from vqabench.codecs.inr import PRESETS
from vqabench.config import default_config


def _json(capsys, argv: list[str]) -> object:
    assert run_cli(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_codecs_list_json_states_encoder_version_rates_formats_defaults(capsys):
    facts = {f["name"]: f for f in _json(capsys, ["codecs", "list", "--json"])}
    assert sorted(facts) == sorted(codecs.available())
    x264 = facts["x264"]
    assert x264["encoder"] == "libx264"
    # x264's documented QP and CRF ranges; kbps: the target-bitrate range of every ffmpeg codec
    assert x264["rate_params"] == {"qp": [0, 51], "crf": [0, 51], "kbps": [1, 200000]}
    # the version is the bundled ffmpeg's own, read here straight from `ffmpeg -version`
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-version"], capture_output=True, text=True, check=True
    ).stdout
    assert x264["version"] == "ffmpeg " + re.search(r"ffmpeg version (\S+)", out).group(1)
    assert {"preset": "medium", "gop": 32, "threads": 1, "extra": []}.items() <= x264[
        "defaults"
    ].items()
    assert facts["svt-av1"]["rate_params"]["qp"] == [1, 63]
    assert facts["inr"]["rate_params"] == {"model": list(PRESETS)}
    assert facts["inr"]["defaults"]["loss"] == "l1_msssim"
    assert facts["x265"]["native_pix_fmts"] == list(codecs.get_class("x265").native_pix_fmts)
    assert facts["vvenc"]["native_pix_fmts"] == ["yuv420p10le"]  # VVenC codes 10-bit 4:2:0
    # picture sizes measured in tests/codecs/test_formats.py::test_size_limits_are_where...
    assert facts["x264"]["sizes"] == {"min": [1, 1], "max": [16384, 16384], "whole_chroma": True}
    assert facts["svt-av1"]["sizes"] == {"min": [2, 2], "max": [16384, 8704], "whole_chroma": False}
    # the external adapter has no version without its definition file, and says so
    assert facts["external"]["version"].startswith("n/a")
    assert facts["external"]["rate_params"]["qp"] == [None, None]  # valid JSON, no Infinity


@pytest.mark.slow
def test_codecs_list_text(capsys):
    assert run_cli(["codecs", "list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert sorted(lines) == sorted(codecs.available())
    assert "qp=0..51, crf=0..51" in lines["x264"] and "preset=medium" in lines["x264"]
    assert "sizes=16x16..65536x65536" in lines["x265"] and "sizes=1x1.. " in lines["inr"]
    assert "model=xxs|xs|s|m|l" in lines["inr"]


@pytest.mark.slow
def test_codecs_list_shows_the_default_ladders_of_the_main_job(capsys):
    """Each conventional codec's default ladder, from the table a bare ``vqabench run`` uses;
    * marks the codecs that run in it (issue 30, item 1)."""
    facts = {f["name"]: f for f in _json(capsys, ["codecs", "list", "--json"])}
    run_ladders = {c.name: c.text for c in default_config().codecs}
    assert list(run_ladders) == ["x264", "x265", "vp9", "svt-av1", "vvenc"]
    assert run_ladders["x264"] == "x264:qp=22,27,32,37"  # the anchor of the main job
    for name in ("x264", "x265", "vp9", "aom-av1", "svt-av1", "vvenc"):
        assert facts[name]["in_default_run"] is (name in run_ladders)
        if name in run_ladders:
            assert f"{name}:{facts[name]['default_ladder']}" == run_ladders[name]
        assert re.fullmatch(r"qp=\d+,\d+,\d+,\d+", facts[name]["default_ladder"])
    assert facts["inr"]["default_ladder"] is None and facts["inr"]["in_default_run"] is False
    assert run_cli(["codecs", "list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert " ladder=qp=22,27,32,37* " in lines["x264"]
    assert f" ladder={facts['aom-av1']['default_ladder']} " in lines["aom-av1"]
    assert " ladder=- " in lines["inr"]


@pytest.mark.slow
def test_every_list_command_has_json(capsys):
    listed = _json(capsys, ["metrics", "list", "--json"])
    assert [m["name"] for m in listed] == metrics.available()
    psnr = next(m for m in listed if m["name"] == "psnr_y")
    assert psnr["higher_is_better"] is True and psnr["kind"] == "full-reference"
    listed = _json(capsys, ["datasets", "list", "--json"])
    assert [d["name"] for d in listed] == datasets.available()
    assert next(d for d in listed if d["name"] == "mini")["builtin"] is True
    listed = _json(capsys, ["models", "list", "--json"])
    assert [m["name"] for m in listed] == models.available()
    status = _json(capsys, ["weights", "--json", "--no-verify"])
    assert status["searched"] and all(
        {"file", "present", "url"} <= set(w) for w in status["weights"]
    )
