"""The external codec adapter: templates without a shell, x264 reproduced through the
runner, and importing results made elsewhere."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_video
from vqabench import codecs
from vqabench.codecs.external import substitute
from vqabench.errors import CodecError, ConfigError
from vqabench.experiment import load_config
from vqabench.runner.run import run

X264_TOML = Path(__file__).resolve().parents[2] / "configs" / "external_x264.toml"


def test_placeholders_fill_one_argument_each():
    args = substitute(
        ["tool", "--out={bitstream}", "{input}", "-q", "{value}", "{{x}}"],
        {"bitstream": "a b.bin", "input": "in put.y4m", "value": 30},
    )
    assert args == ["tool", "--out=a b.bin", "in put.y4m", "-q", "30", "{x}"]
    with pytest.raises(ConfigError, match="placeholder"):
        substitute(["{nope}"], {"input": "x"})


def test_template_validation(tmp_path):
    dec = ["d", "{bitstream}", "{output}"]
    with pytest.raises(ConfigError, match="list of arguments"):
        codecs.create("external", encode="enc {input} {bitstream}", decode=dec)
    with pytest.raises(ConfigError, match="encode placeholder='colour'"):
        codecs.create("external", encode=["e", "{input}", "{bitstream}", "{colour}"], decode=dec)
    with pytest.raises(ConfigError, match="must use {bitstream}"):
        codecs.create("external", encode=["e", "{input}"], decode=dec)
    with pytest.raises(ConfigError, match="decode placeholder='value'"):
        codecs.create("external", encode=["e", "{input}", "{bitstream}"], decode=[*dec, "{value}"])
    with pytest.raises(ConfigError, match="not both"):
        codecs.create(
            "external", encode=["e", "{input}", "{bitstream}"], decode=dec, import_dir="x"
        )
    with pytest.raises(ConfigError, match="neither"):
        codecs.create("external")
    bad = tmp_path / "codec.toml"
    bad.write_text('encoder = ["x"]\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['encoder'\]"):
        codecs.create("external", config=str(bad))


def test_rate_points_follow_the_config():
    codec = codecs.create("external", config=str(X264_TOML))
    codec.check_rate_point(codecs.RatePoint("qp", 30))
    with pytest.raises(CodecError, match="0..51"):
        codec.check_rate_point(codecs.RatePoint("qp", 60))
    with pytest.raises(CodecError, match="rate control is qp="):
        codec.check_rate_point(codecs.RatePoint("crf", 30))
    named = codecs.create("external", import_dir="x", rate_param="model", rate_values=["s", "m"])
    named.check_rate_point(codecs.RatePoint("model", "s"))
    with pytest.raises(CodecError, match=r"\['s', 'm'\]"):
        named.check_rate_point(codecs.RatePoint("model", "l"))


def test_x264_example_builds_the_builtin_command(tiny_video):
    rate = codecs.RatePoint("qp", 32)
    ext = codecs.create("external", config=str(X264_TOML))
    builtin = codecs.create("x264")
    assert ext.encode_cmd(tiny_video, Path("o.264"), rate) == builtin.encode_cmd(
        tiny_video, Path("o.264"), rate
    )
    assert ext.decode_cmd(Path("o.264"), Path("d.y4m"), tiny_video) == builtin.decode_cmd(
        Path("o.264"), Path("d.y4m"), tiny_video
    )


def _rows(out: Path) -> dict[tuple[str, str, str], tuple[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return {
            (r["sequence"], r["codec"], r["rate_point"], r["metric"]): (r["bits"], r["value"])
            for r in csv.DictReader(f)
        }


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("ext-data")
    make_video(root / "Alpha.y4m", frames=4, seed=1)
    return root


@pytest.mark.slow
def test_external_x264_reproduces_builtin_rows(folder, tmp_path):
    cfg = load_config(
        None,
        dataset=str(folder),
        metrics="psnr_y,psnr_yuv",
        jobs=1,
        out=str(tmp_path / "run"),
        codecs=["x264:qp=30,40", f"external:qp=30,40:config={X264_TOML}:label=x264-ext"],
    )
    summary = run(cfg)
    assert summary.complete
    rows = _rows(tmp_path / "run")
    assert len(rows) == 8
    for (seq, codec, rate, metric), value in rows.items():
        if codec == "x264":
            assert rows[(seq, "x264-ext", rate, metric)] == value


@pytest.mark.slow
def test_import_dir_rows_match_the_codec_that_made_them(folder, tmp_path):
    """Bitstreams + decoded videos made elsewhere (here: by x264) land in the results
    exactly as if the codec had run inside vqabench."""
    made = tmp_path / "elsewhere" / "Alpha"
    made.mkdir(parents=True)
    from vqabench.io.video import open_video

    video = open_video(folder / "Alpha.y4m")
    for qp in (30, 40):
        res = codecs.run_codec(
            codecs.create("x264"),
            video,
            codecs.RatePoint("qp", qp),
            made / f"qp{qp}.264",
            decode_dir=tmp_path,
        )
        shutil.move(res.decoded.path, made / f"qp{qp}.y4m")
    (made / "qp30.json").write_text('{"enc_s": 1.5, "dec_s": 0.25}')
    cfg = load_config(
        None,
        dataset=str(folder),
        metrics="psnr_y",
        jobs=1,
        out=str(tmp_path / "run"),
        codecs=[
            "x264:qp=30,40",
            f"external:qp=30,40:import_dir={made.parent}:extension=264:label=imported",
        ],
    )
    assert run(cfg).complete
    rows = _rows(tmp_path / "run")
    for rate in ("qp=30", "qp=40"):
        assert (
            rows[("Alpha", "imported", rate, "psnr_y")] == rows[("Alpha", "x264", rate, "psnr_y")]
        )
    with open(tmp_path / "run" / "results.csv", newline="") as f:
        timed = [
            r for r in csv.DictReader(f) if r["codec"] == "imported" and r["rate_point"] == "qp=30"
        ]
    assert float(timed[0]["enc_s"]) == 1.5 and float(timed[0]["dec_s"]) == 0.25


def test_import_reports_missing_files(folder, tmp_path):
    (tmp_path / "Alpha").mkdir()
    codec = codecs.create("external", import_dir=str(tmp_path), extension=".264")
    from vqabench.io.video import open_video

    with pytest.raises(CodecError, match="qp30.264 is missing"):
        codec.encode(
            open_video(folder / "Alpha.y4m"), tmp_path / "o.264", codecs.RatePoint("qp", 30)
        )
