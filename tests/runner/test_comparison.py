"""vqabench/runner/comparison.py: the frames of a run's visual comparison, decoded again from
its bitstreams."""

from __future__ import annotations

import math

import pytest


@pytest.mark.slow
def test_compare_decodes_the_closest_points_and_the_cli_draws_them(tmp_path, capsys):
    """On a real run (x264 and x265, 64x64, 3 frames): the pair is the one of closest bpp in
    results.csv, the decoded frame is the one ffmpeg decodes from that bitstream, and
    ``vqabench report --compare`` draws the figure with bpp and PSNR-Y in its caption."""
    from tests.conftest import make_video
    from vqabench.cli import main
    from vqabench.errors import ConfigError
    from vqabench.evaluation.aggregate import load_results
    from vqabench.experiment import load_config
    from vqabench.io.ffmpeg import run_ffmpeg
    from vqabench.io.video import open_video, read_frames, yuv_to_rgb
    from vqabench.reports.compare import compare_request
    from vqabench.runner.comparison import compared_frames
    from vqabench.runner.run import run

    data = tmp_path / "data"
    source = make_video(data / "Alpha.y4m", width=64, height=64, frames=3, seed=4)
    out = tmp_path / "run"
    run(
        load_config(
            None,
            dataset=str(data),
            codecs=["x264:qp=27,37", "x265:qp=27,37"],
            metrics="psnr_y",
            jobs=1,
            out=str(out),
        )
    )
    results = load_results(out)
    bpp = {(r.codec, r.rate_point): r.bpp for r in results.itertuples()}
    pairs = [(a, b) for a in ("qp=27", "qp=37") for b in ("qp=27", "qp=37")]
    want = min(pairs, key=lambda k: abs(math.log(bpp[("x264", k[0])] / bpp[("x265", k[1])])))
    item = compared_frames(out, results, compare_request("x264,x265", frame=1))
    assert tuple(p.rate_point for p in item.pick.points) == want
    assert (item.frame, item.frames, item.crop[2]) == (1, 3, 32)
    x265 = item.pick.points[1]
    decoded = tmp_path / "x265.y4m"
    run_ffmpeg(
        [
            "-loglevel",
            "error",
            "-i",
            str(out / x265.bitstream),
            "-f",
            "yuv4mpegpipe",
            "-pix_fmt",
            "yuv420p",
            str(decoded),
        ]
    )
    frame = list(read_frames(open_video(decoded)))[1]
    assert abs(item.decoded_rgb[1] - yuv_to_rgb(frame, matrix="bt601")).max() < 1e-12
    src = list(read_frames(source))[1]
    assert abs(item.source_rgb - yuv_to_rgb(src, matrix="bt601")).max() < 1e-12
    with pytest.raises(ConfigError, match=r"frame=3 .*0\.\.2"):
        compared_frames(out, results, compare_request("x264,x265", frame=3))

    with pytest.raises(SystemExit) as exc:
        main(
            [
                "report",
                str(out),
                "--out",
                str(tmp_path / "rep"),
                "--compare",
                "x264,x265",
                "--frame",
                "1",
                "--formats",
                "png",
                "--jobs",
                "1",
            ]
        )
    assert exc.value.code == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    a = item.pick.points[0]
    assert (
        f"x264 {a.rate_point} ({a.bpp:.4f} bpp, PSNR-Y {a.quality['psnr_y']:.2f} dB) vs "
        f"x265 {x265.rate_point} ({x265.bpp:.4f} bpp"
    ) in md
    assert (tmp_path / "rep" / "compare_Alpha_x264_vs_x265.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "report",
                str(out),
                "--out",
                str(tmp_path / "x"),
                "--compare",
                "x264,x265",
                "--figures",
                "none",
            ]
        )
    assert exc.value.code == 2 and "--figures summary | all" in capsys.readouterr().err
