"""``vqabench speed``: decode fps of a real run's bitstreams, in the Table IV layout."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import make_video
from vqabench.cli import main
from vqabench.experiment import load_config
from vqabench.runner.run import run


@pytest.mark.slow
def test_speed_measures_every_bitstream(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    make_video(data / "Alpha.y4m", frames=6, seed=1)
    out = tmp_path / "run"
    run(
        load_config(
            None,
            dataset=str(data),
            codecs=["x264:qp=22,37", "vp9:qp=30,50"],
            metrics="psnr_y",
            jobs=1,
            out=str(out),
        )
    )
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "speed",
                str(out),
                "--repeats",
                "2",
                "--anchor",
                "x264",
                "--out",
                str(tmp_path / "speed.csv"),
            ]
        )
    assert exc.value.code == 0
    shown = capsys.readouterr().out
    assert "| Class | Point | Rate points | x264 fps | vp9 fps | vp9 / x264 |" in shown
    measured = pd.read_csv(tmp_path / "speed.csv")
    assert sorted(zip(measured["codec"], measured["rate_point"], strict=True)) == [
        ("vp9", "qp=30"),
        ("vp9", "qp=50"),
        ("x264", "qp=22"),
        ("x264", "qp=37"),
    ]
    assert (measured["frames"] == 6).all()
    # fps = frames / best_s, both written with every digit (repr, write_csv), but read back
    # by pandas' default float parser, which is not correctly rounded in every version
    # (pandas 3.0 reads some such values 1 ulp off, and float_precision="round_trip" is
    # deprecated): a relative 1e-12 is thousands of ulps and far below a measured fps digit.
    assert measured["fps"].to_numpy() == pytest.approx(
        (6 / measured["best_s"]).to_numpy(), rel=1e-12
    )


@pytest.mark.slow
def test_speed_lists_learned_codec_complexity(tmp_path, capsys):
    from vqabench.codecs.inr import read_bitstream
    from vqabench.codecs.inr_complexity import arch_complexity, inr_complexity

    data = tmp_path / "data"
    data.mkdir()
    make_video(data / "Alpha.y4m", width=48, height=32, frames=4, seed=1)
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="characterised at"):  # a tiny clip, on purpose
        run(
            load_config(
                None,
                dataset=str(data),
                metrics="psnr_y",
                jobs=1,
                out=str(out),
                codecs=["x264:qp=22,37", "inr:model=xxs,xs:steps=5:qat_steps=2"],
            )
        )
    with pytest.raises(SystemExit) as exc:
        main(["speed", str(out), "--repeats", "1"])
    assert exc.value.code == 0
    shown = capsys.readouterr().out
    assert "| Codec | Rate point | Params (k) | GMAC/frame | kMAC/pixel | EncT % |" in shown
    arch, _, _ = read_bitstream(out / "bitstreams" / "Alpha" / "inr" / "modelxxs.inr")
    params, macs = arch_complexity(arch)
    assert (params, macs) == inr_complexity("xxs", width=48, height=32, frames=4)
    assert f"| inr | model=xxs | {params / 1e3:.3f} |" in shown


@pytest.mark.slow
def test_speed_models_with_the_default_patch(tmp_path, capsys, monkeypatch):
    """The default ``--patch`` is WIDTHxHEIGHTxFRAMES like every other --patch: pt_loss on
    256x256 pixels x 12 frames (the old default 12x256x256 gave it 12-pixel-wide frames)."""
    from tests.cli.conftest import synthetic_run
    from vqabench.models import complexity, create_model

    monkeypatch.setattr(complexity, "cpu_time_per_pair", lambda model, patch, **kw: 0.5)
    run_dir = synthetic_run(tmp_path / "run")  # no bitstreams: nothing to decode
    with pytest.raises(SystemExit) as exc:
        main(["speed", str(run_dir), "--models", "pt_loss"])
    assert exc.value.code == 0
    shown = capsys.readouterr().out
    macs, _ = complexity.count_macs(create_model("pt_loss"), (12, 256, 256))
    assert f"| pt_loss | 0.802 | {macs / 1e9:.3f} | {macs / (12 * 256 * 256) / 1e3:.3f} |" in shown


@pytest.mark.slow
def test_speed_measures_compressai_with_its_own_decoder(tmp_path, capsys):
    """A run with x264 and compressai (random weights): decode-fps rows of every compressai
    bitstream, frame count that of the clip, and its networks' parameters and MACs."""
    pytest.importorskip("compressai")
    from vqabench import codecs
    from vqabench.codecs.compressai_complexity import net_complexity

    data = tmp_path / "data"
    data.mkdir()
    make_video(data / "Alpha.y4m", width=64, height=64, frames=3, seed=1)
    out = tmp_path / "run"
    run(
        load_config(
            None,
            dataset=str(data),
            metrics="psnr_y",
            jobs=1,
            out=str(out),
            codecs=[
                "x264:qp=22,37",
                "compressai:quality=1,2:model=bmshj2018-factorized:checkpoint=random",
            ],
        )
    )
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "speed",
                str(out),
                "--repeats",
                "2",
                "--anchor",
                "x264",
                "--out",
                str(tmp_path / "speed.csv"),
            ]
        )
    assert exc.value.code == 0
    shown = capsys.readouterr().out
    measured = pd.read_csv(tmp_path / "speed.csv")
    cai = measured[measured["codec"] == "compressai"]
    assert sorted(cai["rate_point"]) == ["quality=1", "quality=2"]
    assert (cai["frames"] == 3).all() and (cai["fps"] == 3 / cai["best_s"]).all()
    assert "| compressai fps | compressai / x264 |" in shown
    assert "| Codec | Rate point | Params (k) | GMAC/frame | Enc GMAC/frame | kMAC/pixel |" in shown
    net, _ = codecs.create("compressai", model="bmshj2018-factorized", checkpoint="random").network(
        2
    )
    params = sum(p.numel() for p in net.parameters())
    dec = net_complexity(net, width=64, height=64).decoder_macs
    assert f"| compressai | quality=2 | {params / 1e3:.3f} | {dec / 1e9:.3f} |" in shown
