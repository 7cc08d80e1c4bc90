"""``vqabench doctor``: what this installation can do."""

from __future__ import annotations

import typer

from vqabench.cli.app import app, console

__all__ = ["doctor_command", "REQUIRED_ENCODERS", "lossless_check", "LOSSLESS_EXPECTED"]

REQUIRED_ENCODERS = {
    "x264": "libx264",
    "x265": "libx265",
    "vp9": "libvpx-vp9",
    "aom-av1": "libaom-av1",
    "svt-av1": "libsvtav1",
    "vvenc": "libvvenc",
}


def lossless_check() -> dict[str, float]:
    """Round trips that must be lossless on a tiny generated clip: x264 ``qp=0`` through
    :func:`vqabench.codecs.run_codec` and FFV1 through ffmpeg, measured with psnr_y (capped
    at 100 dB), ssim and vmaf. Returns ``{"x264 psnr_y": ..., "ffv1 ssim": ...}``."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from vqabench import codecs, metrics
    from vqabench.io.ffmpeg import run_ffmpeg
    from vqabench.io.video import open_video, rgb_to_yuv, write_y4m

    rng = np.random.default_rng(0)
    base = rng.random((80, 96, 3))
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vqabench-doctor-") as tmp:
        d = Path(tmp)
        frames = [rgb_to_yuv(np.roll(base, 2 * t, axis=1)[:64, :64]) for t in range(4)]
        src = write_y4m(d / "src.y4m", frames, width=64, height=64, fps=25)
        x264 = codecs.run_codec(
            codecs.create("x264"), src, codecs.RatePoint("qp", 0), d / "a.264", decode_dir=d
        ).decoded
        run_ffmpeg(["-i", src.path, "-c:v", "ffv1", d / "b.mkv"])
        run_ffmpeg(["-i", d / "b.mkv", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", d / "b.y4m"])
        for label, decoded in (("x264 qp=0", x264), ("ffv1", open_video(d / "b.y4m"))):
            for name in ("psnr_y", "ssim", "vmaf"):
                out[f"{label} {name}"] = metrics.create(name).compute(src, decoded).value
    return out


#: What a lossless round trip must give (psnr_y is capped at 100 dB).
LOSSLESS_EXPECTED = {
    "psnr_y": (100.0, 100.0),
    "ssim": (1.0 - 1e-9, 1.0 + 1e-9),
    "vmaf": (97.0, 100.0),
}


@app.command("doctor")
def doctor_command(
    deep: bool = typer.Option(
        False,
        "--deep",
        help="also check lossless round trips (x264 qp=0, FFV1) give "
        "100 dB PSNR, SSIM 1 and VMAF near its maximum",
    ),
) -> int:
    """Check ffmpeg, its encoders, libvmaf and torch; exit non-zero if something is missing."""
    from vqabench import __version__
    from vqabench.io.ffmpeg import ffmpeg_info

    problems = []
    console.print(f"vqabench {__version__}")
    info = ffmpeg_info()
    console.print(f"ffmpeg   {info.version}  ({info.path})")
    from vqabench.codecs.versions import encoder_version

    for codec, encoder in REQUIRED_ENCODERS.items():
        ok = encoder in info.encoders
        version = encoder_version(encoder) if ok else ""
        console.print(
            f"  {'ok     ' if ok else 'MISSING'} {codec:8s} encoder {encoder:11s} "
            f"{version or ('version unknown' if ok else '')}".rstrip(),
            markup=False,
            highlight=False,
        )
        if not ok:
            problems.append(f"encoder {encoder}")
    vmaf_ok = "libvmaf" in info.filters
    console.print(f"  {'ok     ' if vmaf_ok else 'MISSING'} libvmaf  filter")
    if not vmaf_ok:
        problems.append("libvmaf filter")
    if vmaf_ok:
        _vmaf_models()
    try:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        console.print(
            f"torch    {torch.__version__}  device: {device}, {torch.get_num_threads()} CPU threads"
        )
    except ImportError:
        problems.append("torch")
        console.print("torch    MISSING")
    if problems:
        console.print(
            f"[red]missing: {', '.join(problems)}[/red]; set VQABENCH_FFMPEG to an "
            "ffmpeg built with them"
        )
        raise typer.Exit(1)
    if deep:
        bad = []
        for key, value in lossless_check().items():
            lo, hi = LOSSLESS_EXPECTED[key.rsplit(" ", 1)[1]]
            ok = lo <= value <= hi
            console.print(f"  {'ok     ' if ok else 'WRONG  '} lossless {key} = {value:.4f}")
            if not ok:
                bad.append(key)
        if bad:
            console.print(f"[red]lossless round trips are not lossless: {', '.join(bad)}[/red]")
            raise typer.Exit(1)
    console.print("[green]all required components are present[/green]")
    return 0


def _vmaf_models() -> None:
    """Which shipped VMAF models the bundled libvmaf runs, probed on two synthetic frames at
    the default benchmark size (256x144) and, where that fails, at the model's smallest
    known working size (1920x1080 when none is known)."""
    from vqabench.datasets.builtin import MINI_DEFAULT_SIZE
    from vqabench.metrics.vmaf import V1_SMALLEST_SIZE, probe_model, vmaf_models

    small = MINI_DEFAULT_SIZE
    for model in vmaf_models():
        why = probe_model(model, small)
        if why is None:
            console.print(
                f"  ok      vmaf model {model} (at {small[0]}x{small[1]})", highlight=False
            )
            continue
        w, h = V1_SMALLEST_SIZE.get(model, (1920, 1080))
        larger = probe_model(model, (w, h))
        status = "LIMITED" if larger is None else "FAILS  "
        where = f"runs at {w}x{h}" if larger is None else f"fails at {w}x{h} too"
        console.print(
            f"  {status} vmaf model {model}: {where}, not at {small[0]}x{small[1]} "
            f"(the default mini size): {why}",
            highlight=False,
            markup=False,
        )
