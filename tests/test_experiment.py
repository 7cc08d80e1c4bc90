"""Config reading validated by the registries: command-line specs, TOML files, round trips
and clear errors (vqabench/experiment.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqabench import metrics
from vqabench.config import default_config, write_config
from vqabench.errors import CodecError, ConfigError, UnknownNameError
from vqabench.experiment import (
    load_config,
    parse_codec_spec,
    parse_metric_spec,
    parse_sequence_names,
)


def test_codec_spec_with_options():
    spec = parse_codec_spec("x264:qp=22,27,32,37:preset=veryfast:label=x264-fast")
    assert (spec.name, spec.rate_param, spec.values) == ("x264", "qp", (22, 27, 32, 37))
    assert dict(spec.options) == {"preset": "veryfast"} and spec.display == "x264-fast"


@pytest.mark.parametrize(
    "text, error, match",
    [
        ("x264", ConfigError, "NAME:PARAM=V1,V2"),
        ("x264:qp", ConfigError, "NAME:PARAM=V1,V2"),
        ("x264:qp=22,abc", CodecError, "'qp=abc' is not allowed: qp must be a number"),
        ("x264:qp=22,99", CodecError, "qp must be a number in 0..51"),
        ("x264:preset=fast", ConfigError, "exactly one rate ladder key"),
        ("x246:qp=22", UnknownNameError, "did you mean"),
        ("x264:qp=22,22", ConfigError, "repeats a rate point"),
    ],
)
def test_bad_codec_specs(text, error, match):
    with pytest.raises(error, match=match):
        parse_codec_spec(text)


def test_named_rate_points_and_text_options():
    spec = parse_codec_spec("inr:model=xxs,xs,s:steps=50")
    assert spec.values == ("xxs", "xs", "s") and dict(spec.options) == {"steps": 50}


def test_metric_spec_and_unknown_metric():
    spec = parse_metric_spec("vmaf:model=vmaf_v0.6.1neg:pooling=harmonic_mean")
    assert dict(spec.options) == {"model": "vmaf_v0.6.1neg", "pooling": "harmonic_mean"}
    with pytest.raises(UnknownNameError, match="did you mean 'vmaf'"):
        parse_metric_spec("vmav")


def test_metric_option_values_may_contain_colons():
    """A piece without ``=`` continues the value before it: ``device=cuda:0`` reaches the
    metric whole (here it names a CUDA device this machine lacks, so the device check
    answers, not the spec syntax), ``weights=6:1:1`` gives the JVET weights."""
    spec = parse_metric_spec("psnr_yuv:weights=6:1:1:max_db=90")
    assert dict(spec.options) == {"weights": "6:1:1", "max_db": 90}
    assert metrics.create("psnr_yuv", **dict(spec.options)).weights == (6.0, 1.0, 1.0)
    # the piece continues the option just written, also when that option came earlier
    again = parse_metric_spec("psnr_yuv:weights=1/1/1:max_db=90:weights=6:1:1")
    assert dict(again.options) == {"weights": "6:1:1", "max_db": 90}
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"device='cuda:0' is not available"):
            parse_metric_spec("pt_loss:device=cuda:0")
    for bad in ("vmaf:0", "vmaf::model=x", "vmaf:model=x:"):
        with pytest.raises(ConfigError, match=r"expected NAME\[:OPTION=VALUE\.\.\.\]"):
            parse_metric_spec(bad)


def test_overrides_and_defaults():
    cfg = load_config(None, codecs=["vp9:qp=30,40"], metrics="psnr_y,vmaf", frames="8", jobs=1)
    assert [c.name for c in cfg.codecs] == ["vp9"] and cfg.frames == 8 and cfg.jobs == 1
    assert [m.name for m in cfg.metrics] == ["psnr_y", "vmaf"]
    assert [c.name for c in default_config().codecs][0] == "x264"
    with pytest.raises(ConfigError, match="anchor='hevc' is not allowed"):
        load_config(None, anchor="hevc")
    with pytest.raises(ConfigError, match="frames='0' is not allowed"):
        load_config(None, frames="0")


def test_toml_round_trip(tmp_path):
    cfg = load_config(
        None,
        dataset="mini",
        frames=4,
        size="64x64",
        codecs=["x264:qp=22,32:preset=veryfast", "x265:crf=28,32:label=hevc"],
        metrics="psnr_yuv:weights=8/1/1,vmaf:model=vmaf_v0.6.1neg",
        jobs=2,
    )
    path = tmp_path / "config.toml"
    write_config(cfg, path, comment="test")
    again = load_config(path)
    assert again == cfg and again.identity() == cfg.identity()
    subset = load_config(path, sequences="Rocket, Coffee")
    assert subset.sequences == ("Rocket", "Coffee")
    write_config(subset, path, comment="test")
    assert 'sequences = ["Rocket", "Coffee"]' in path.read_text()
    assert load_config(path) == subset


def test_sequence_names():
    assert parse_sequence_names(["Coffee", "Rocket"], "dataset.sequences") == ("Coffee", "Rocket")
    assert parse_sequence_names(" Coffee,Rocket ", "--sequences") == ("Coffee", "Rocket")
    for bad, match in (
        ("Coffee,,Rocket", "non-empty"),
        ([], "non-empty"),
        ("A,A", "distinct"),
        ([3], "a list of sequence names"),
    ):
        with pytest.raises(ConfigError, match=f"dataset.sequences=.* not allowed: .*{match}"):
            parse_sequence_names(bad, "dataset.sequences")


@pytest.mark.parametrize(
    "text, match",
    [
        ("[dataset\nname='mini'", "not valid TOML"),
        ("[datasets]\nname='mini'", "unknown section"),
        ("[dataset]\nnmae='mini'", "unknown key dataset.nmae"),
        ("[dataset]\nsequences=['A', 'A']", "dataset.sequences=.* distinct"),
        ("[dataset]\nsequences=3", "dataset.sequences=3 is not allowed"),
        ("[[codecs]]\nqp=[22]", "every codec needs a name"),
        ("[run]\njobs=0", "run.jobs=0 is not allowed"),
        ("metrics = 'psnr_y'", "metrics must be a list"),
    ],
)
def test_bad_toml(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "x264:qp=22,27:presett=fast",
            r"codec 'x264' has no option 'presett'; did you mean "
            r"'preset'\? \(options: preset, gop, threads",
        ),
        ("x265:qp=22,27:preset=fastest", r"preset='fastest' is not allowed: expected ultrafast"),
        ("svt-av1:qp=30,40:preset=20", r"preset=20 is not allowed: expected integers -2\.\.13"),
    ],
)
def test_codec_options_are_checked_by_name_and_value(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_codec_spec(text)


@pytest.mark.parametrize("metric", ["pt_loss", "rankdvqa_ugc"])
def test_reference_metrics_need_a_reference_stage(metric):
    with pytest.raises(ConfigError, match=rf"metric '{metric}' scores .* needs a reference"):
        load_config(metrics=metric)
    with pytest.raises(ConfigError, match="needs a reference stage"):
        load_config(metrics=metric, reference="x264:qp=30,37,42")  # anchors: source only
    cfg = load_config(metrics=metric, reference="x264:qp=30,37,42", anchors="reference")
    assert cfg.metrics[0].name == metric


def test_kbps_ladders_and_targets_from(tmp_path):
    from vqabench.config import TARGETS_FROM, targets_source, write_config
    from vqabench.experiment import load_config

    cfg = load_config(
        None,
        codecs=["x264:qp=22,27", "x264:kbps=from:label=x264-2pass", "x265:kbps=300,600"],
        targets_from="x264",
    )
    assert cfg.codecs[1].values == (TARGETS_FROM,) and cfg.codecs[1].targets_from_run
    assert cfg.codecs[2].values == (300, 600) and not cfg.codecs[2].targets_from_run
    assert targets_source(cfg) is cfg.codecs[0]
    write_config(cfg, tmp_path / "c.toml")  # round trip through TOML
    again = load_config(tmp_path / "c.toml")
    assert again.codecs == cfg.codecs and again.targets_from == "x264"
    assert again.identity() == cfg.identity()
    with pytest.raises(ConfigError, match="not a kbps one"):
        load_config(
            None, codecs=["x265:kbps=300,600", "x264:kbps=from:label=b"], targets_from="x265"
        )
    with pytest.raises(ConfigError, match="x264:qp=22,27"):
        load_config(None, codecs=["x264:qp=22,27", "x265:kbps=from"], targets_from="x264:qp=22")
    with pytest.raises(ConfigError, match="no codec has kbps=from"):
        load_config(None, codecs=["x264:qp=22,27"], targets_from="x264")
    toml = tmp_path / "inr.toml"
    toml.write_text('[[codecs]]\nname = "inr"\nkbps = [100]\n')
    with pytest.raises(ConfigError, match="codec 'inr' has no rate control"):
        load_config(toml)


# sha256 prefixes of the shipped checkpoints (vqabench/models/weights/MODEL_CARD.md):
# PT-Loss release 1 d6bafaa1..., release 2 a9e5408a...; RankDVQA-UGC release 1 b0d1ecbc...
PT_V1, PT_V2, RANK_V1 = "d6bafaa188faf524", "a9e5408a11f7d9d7", "b0d1ecbc24859cda"


@pytest.mark.parametrize(
    ("name", "pinned"),
    [
        ("ptloss_transcoding", {"pt_loss": {PT_V1}}),
        ("ptloss_rankdvqa_ablation", {"pt_loss": {PT_V1}, "rankdvqa_ugc": {RANK_V1}}),
        ("ptloss_alpha_sweep", {"pt_loss": {PT_V1}}),
        ("ptloss_transcoding_r2", {"pt_loss": {PT_V2}}),
        ("ptloss_alpha_sweep_r2", {"pt_loss": {PT_V2}}),
        ("ptloss_r2_camera_probe", {"pt_loss": {PT_V1, PT_V2}}),
        ("ptloss_shortfall_camera_probe", {"pt_loss": {PT_V2}}),
        ("ptloss_shortfall_r2", {"pt_loss": {PT_V2}}),
    ],
)
def test_ptloss_experiments_pin_the_checkpoint_their_report_used(name, pinned):
    """experiments/ptloss/report.md was made with the first shipped checkpoints and its
    release-2 section with PT-Loss release 2; a later default checkpoint must not silently
    change what these configs run."""
    from vqabench import codecs

    config = load_config(
        Path(__file__).resolve().parents[1] / "experiments" / "ptloss" / "configs" / f"{name}.toml"
    )
    got: dict[str, set[str]] = {}
    for c in config.codecs:
        options = dict(c.options)
        if options.get("loss") in ("pt_loss", "rankdvqa_ugc"):
            key = codecs.create(c.name, **options).options["loss_weights_sha256"]
            got.setdefault(options["loss"], set()).add(key)
    assert got == pinned


@pytest.mark.parametrize(
    "spelling, want",
    [
        ("no", False),
        ("off", False),
        ("0", False),
        ("false", False),
        ("yes", True),
        ("On", True),
        ("1", True),
        ("TRUE", True),
    ],
)
def test_bool_metric_options_are_parsed_from_their_declaration(spelling, want):
    """``ssim:downsample=no`` used to reach SSIM as the string "no" (bool("no") is True)."""
    assert parse_metric_spec(f"ssim:downsample={spelling}").options == (("downsample", want),)
    assert parse_metric_spec({"name": "ssim", "downsample": spelling}).options == (
        ("downsample", want),
    )


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            "ssim:downsample=maybe",
            "metric 'ssim': downsample='maybe' is not allowed: expected "
            "true/false/yes/no/on/off/1/0",
        ),
        (
            "vmaf:modle=x",
            "metric 'vmaf' has no option 'modle'; did you mean 'model'? "
            "(options: model, pooling, n_threads)",
        ),
        (
            "ms_ssim:scales=2.5",
            "metric 'ms_ssim': scales='2.5' is not allowed: expected an integer",
        ),
        (
            "psnr_y:peak=ful",
            "metric 'psnr_y': peak='ful' is not allowed: expected full | hm; did you mean 'full'?",
        ),
        (
            "vmaf:pooling=harmonic",
            "metric 'vmaf': pooling='harmonic' is not allowed: expected "
            "mean | harmonic_mean | min | median; did you mean "
            "'harmonic_mean'?",
        ),
    ],
)
def test_bad_metric_options_are_one_line(spec, message):
    with pytest.raises(ConfigError) as err:
        parse_metric_spec(spec)
    assert str(err.value) == message


def test_typed_options_round_trip_through_config_toml(tmp_path):
    cfg = load_config(
        None,
        codecs=["x264:qp=22,32:gop=-1:threads=0"],
        metrics="ssim:downsample=no,psnr_y:max_db=100",
    )
    assert cfg.codecs[0].options == (("gop", -1), ("threads", 0))
    path = tmp_path / "config.toml"
    write_config(cfg, path)
    text = path.read_text()
    assert '{name = "ssim", downsample = false}' in text and "max_db = 100}" in text
    assert load_config(path) == cfg


@pytest.mark.slow
def test_ssim_downsample_no_is_the_value_without_downsampling(tmp_path):
    """At 512x384 Wang's factor is 2 (round(384 / 256)), so the two settings differ."""
    from tests.conftest import add_noise, make_video

    ref = make_video(tmp_path / "ref.y4m", width=512, height=384, frames=2)
    dis = add_noise(ref, tmp_path / "dis.y4m", sigma=6)
    spec = parse_metric_spec("ssim:downsample=no")
    value = metrics.create(spec.name, **dict(spec.options)).compute(ref, dis).value
    plain = metrics.create("ssim", downsample=False).compute(ref, dis).value
    downsampled = metrics.create("ssim", downsample=True).compute(ref, dis).value
    assert value == plain and abs(plain - downsampled) > 1e-3


def test_gop_minus_one_is_one_intra_frame_where_the_encoder_can():
    assert parse_codec_spec("x265:qp=30:gop=-1").options == (("gop", -1),)
    assert parse_codec_spec("vvenc:qp=30:gop=-1").options == (("gop", -1),)
    with pytest.raises(
        ConfigError,
        match=r"gop=-2 is not allowed: expected an integer >= 1 .* "
        r"or -1",
    ):
        parse_codec_spec("x264:qp=30:gop=-2")
