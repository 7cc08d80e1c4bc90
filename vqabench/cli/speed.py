"""``vqabench speed``: decoding speed of a run's bitstreams (and model complexity)."""

from __future__ import annotations

from pathlib import Path

import typer

from vqabench.cli.app import app, console

__all__ = ["speed"]


@app.command("speed")
def speed(
    run_dir: Path = typer.Argument(..., help="Run directory written by `vqabench run`."),
    repeats: int = typer.Option(3, "--repeats", help="Decodes per bitstream; the best counts."),
    anchor: str = typer.Option(
        None, "--anchor", help="Codec the ratio columns divide by (default: the first codec)."
    ),
    models: str = typer.Option(
        None,
        "--models",
        help="Also a complexity table of these quality models / losses, e.g. pt_loss,rankdvqa_ugc.",
    ),
    patch: str = typer.Option(
        "256x256x12",
        "--patch",
        help="Patch WIDTHxHEIGHTxFRAMES for --models (as make-pairs and models info).",
    ),
    out: Path = typer.Option(None, "--out", help="Also write every measurement as CSV here."),
) -> None:
    """Single-thread decode-to-null fps per codec, rate point and class (CLIC Table IV);
    learned codecs (compressai, inr) through their own decoder."""
    import pandas as pd

    from vqabench import codecs
    from vqabench.codecs.decodespeed import codec_decode_speed, decode_speed
    from vqabench.evaluation import load_results
    from vqabench.evaluation.speed import complexity_table, speed_table
    from vqabench.reports.tables import to_markdown, write_csv

    formats = {}
    for name in ("x264", "x265", "vvenc", "vp9", "aom-av1", "svt-av1"):
        cls = codecs.get_class(name)
        formats[cls.extension] = cls.muxer
    results = load_results(run_dir)
    encodes = results.drop_duplicates(["sequence", "reference", "codec", "rate_point"])
    rows, learned = [], []
    own = _own_decoders(run_dir)
    for (_, _, _), ladder in encodes.groupby(["sequence", "reference", "codec"], sort=False):
        for point, r in enumerate(ladder.itertuples(), start=1):
            path = Path(run_dir) / str(r.bitstream)
            fmt = formats.get(path.suffix)
            if path.suffix == ".inr":
                learned.append(_inr_row(path, str(r.codec), str(r.rate_point), float(r.enc_s)))
            if path.suffix == ".cai" and str(r.codec) in own:
                from vqabench.codecs.compressai_complexity import bitstream_complexity

                learned.append(
                    {
                        "codec": r.codec,
                        "rate_point": r.rate_point,
                        **bitstream_complexity(own[str(r.codec)], path),
                        "enc_s": float(r.enc_s),
                    }
                )
            if fmt is not None:
                s = decode_speed(path, fmt, repeats=repeats)
            elif str(r.codec) in own:
                s = codec_decode_speed(own[str(r.codec)], path, repeats=repeats)
            else:
                continue  # no decoder to time (an external codec: its dec_s is in results)
            rows.append(
                {
                    "sequence": r.sequence,
                    "reference": r.reference,
                    "codec": r.codec,
                    "rate_point": r.rate_point,
                    "point": point,
                    "group": getattr(r, "group", ""),
                    "frames": s.frames,
                    "best_s": s.best_s,
                    "fps": s.fps,
                    "repeats": repeats,
                }
            )
    measured = pd.DataFrame(rows)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    if measured.empty:
        console.print("no bitstreams with an ffmpeg decoder in this run", markup=False)
    else:
        table = speed_table(measured, anchor=anchor or str(measured["codec"].iloc[0]))
        console.print(
            f"Decoding speed (fps, single thread, decode to null, best of {repeats}; "
            f"learned codecs: their own decoder in this process; "
            f"load {' '.join(load)})",
            markup=False,
        )
        console.print(to_markdown(table, decimals=1), markup=False)
        if out is not None:
            write_csv(measured, out)
    if learned:
        from vqabench.evaluation.speed import learned_codec_table

        base = anchor or str(encodes["codec"].iloc[0])
        anchor_enc = encodes[encodes["codec"] == base]["enc_s"].astype(float).mean()
        console.print(f"Learned codecs: complexity (EncT % against {base})", markup=False)
        console.print(
            to_markdown(
                learned_codec_table(pd.DataFrame(learned), anchor_enc_s=float(anchor_enc)),
                decimals=3,
            ),
            markup=False,
        )
    if models:
        from vqabench.models.complexity import model_info, parse_patch

        infos = [model_info(m.strip(), parse_patch(patch)) for m in models.split(",") if m.strip()]
        console.print(
            f"Complexity per {patch} patch pair (CPU time relative to the first)", markup=False
        )
        console.print(to_markdown(complexity_table(infos), decimals=3), markup=False)


def _inr_row(path: Path, codec: str, rate_point: str, enc_s: float) -> dict:
    """Parameters and MACs per frame of an INR bitstream (architecture from its header)."""
    from vqabench.codecs.inr import read_bitstream
    from vqabench.codecs.inr_complexity import arch_complexity

    arch, _, _ = read_bitstream(path)
    params, macs = arch_complexity(arch)
    return {
        "codec": codec,
        "rate_point": rate_point,
        "params": params,
        "macs": macs,
        "pixels": arch.width * arch.height,
        "enc_s": enc_s,
    }


def _own_decoders(run_dir: Path) -> dict[str, object]:
    """The run's codecs that decode in this process (compressai, inr), by their label, built
    with the options of the run's config.toml."""
    from vqabench import codecs
    from vqabench.experiment import load_config

    config = Path(run_dir) / "config.toml"
    if not config.is_file():
        return {}
    return {
        spec.display: codecs.create(spec.name, **dict(spec.options))
        for spec in load_config(config).codecs
        if spec.name in ("compressai", "inr")
    }
