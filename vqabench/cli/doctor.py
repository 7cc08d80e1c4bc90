"""``vqabench doctor``: what this installation can do."""

from __future__ import annotations

import typer

from vqabench.cli.app import app, console

__all__ = ["doctor_command", "REQUIRED_ENCODERS"]

REQUIRED_ENCODERS = {"x264": "libx264", "x265": "libx265", "vp9": "libvpx-vp9",
                     "aom-av1": "libaom-av1", "svt-av1": "libsvtav1", "vvenc": "libvvenc"}


@app.command("doctor")
def doctor_command() -> int:
    """Check ffmpeg, its encoders, libvmaf and torch; exit non-zero if something is missing."""
    from vqabench import __version__
    from vqabench.io.ffmpeg import ffmpeg_info

    problems = []
    console.print(f"vqabench {__version__}")
    info = ffmpeg_info()
    console.print(f"ffmpeg   {info.version}  ({info.path})")
    for codec, encoder in REQUIRED_ENCODERS.items():
        ok = encoder in info.encoders
        console.print(f"  {'ok     ' if ok else 'MISSING'} {codec:8s} encoder {encoder}")
        if not ok:
            problems.append(f"encoder {encoder}")
    vmaf_ok = "libvmaf" in info.filters
    console.print(f"  {'ok     ' if vmaf_ok else 'MISSING'} libvmaf  filter")
    if not vmaf_ok:
        problems.append("libvmaf filter")
    try:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        console.print(f"torch    {torch.__version__}  device: {device}, "
                      f"{torch.get_num_threads()} CPU threads")
    except ImportError:
        problems.append("torch")
        console.print("torch    MISSING")
    if problems:
        console.print(f"[red]missing: {', '.join(problems)}[/red]; set VQABENCH_FFMPEG to an "
                      "ffmpeg built with them")
        raise typer.Exit(1)
    console.print("[green]all required components are present[/green]")
    return 0
