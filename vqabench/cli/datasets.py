"""``vqabench datasets list|show|manifest|verify`` and ``vqabench make-pairs``.

Only maps flags onto :mod:`vqabench.datasets` (named loaders, UGC patch pairs); errors are
typed and printed by the CLI shell.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vqabench.cli.app import (
    EXECUTOR_OPTION,
    SCHEDULER_OPTION,
    app,
    console,
    new_typer,
    set_threads,
)

__all__ = ["datasets_app", "list_datasets", "show", "manifest", "verify", "make_pairs"]

datasets_app = new_typer(help="Datasets: built-in, named (on your disk) and folders.")
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
def list_datasets(
    as_json: bool = typer.Option(False, "--json", help="One JSON array of dataset objects."),
) -> None:
    """List the datasets and the layout each expects under --root."""
    from vqabench import datasets
    from vqabench.datasets.named import CONVENTIONS

    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": name,
                        "layout": CONVENTIONS[name].layout if name in CONVENTIONS else None,
                        "builtin": name not in CONVENTIONS,
                    }
                    for name in datasets.available()
                ]
            )
        )
        return
    for name in datasets.available():
        conv = CONVENTIONS.get(name)
        layout = conv.layout if conv else "built in (no --root)"
        typer.echo(f"{name}\t{layout}")


@datasets_app.command("show")
def show(
    name: str = typer.Argument(..., help="Dataset name (see `vqabench datasets list`)."),
    root: Path = typer.Option(None, "--root", help="Folder holding the dataset."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per sequence."),
) -> None:
    """Sequences of a dataset with their metadata (named datasets: file names only, nothing
    decoded; the built-in ``mini``: its cached sources, built on first use)."""
    from vqabench import datasets
    from vqabench.datasets.named import CONVENTIONS, scan

    if name not in CONVENTIONS and name in datasets.available():
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:  # built-ins cache their own sources
            sequences = datasets.load(name, root=root, work_dir=Path(scratch))
        for seq in sequences:
            src = seq.source
            meta = {k: v for k, v in seq.metadata.items() if k != "file"}
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "name": seq.name,
                            "file": str(src.path),
                            "size": f"{src.width}x{src.height}",
                            "fps": str(src.fps),
                            "pix_fmt": src.pix_fmt,
                            "frames": src.frames,
                            **meta,
                        },
                        sort_keys=True,
                    )
                )
            else:
                facts = " ".join(f"{k}={v}" for k, v in meta.items())
                typer.echo(
                    f"{seq.name}\t{src.width}x{src.height}\t{src.fps} fps\t"
                    f"{src.pix_fmt}\t{src.frames} frames\t{facts}"
                )
        return
    for entry in scan(name, root):
        size = f"{entry.width}x{entry.height}" if entry.width else "container"
        fps = str(entry.fps) if entry.fps else "container"
        meta = {k: v for k, v in entry.metadata.items() if k != "file"}
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "name": entry.name,
                        "file": str(entry.path),
                        "size": size,
                        "fps": fps,
                        "pix_fmt": entry.pix_fmt,
                        **meta,
                    },
                    sort_keys=True,
                )
            )
        else:
            facts = " ".join(f"{k}={v}" for k, v in meta.items())
            typer.echo(f"{entry.name}\t{size}\t{fps} fps\t{entry.pix_fmt}\t{facts}")


@datasets_app.command("manifest")
def manifest(
    name: str = typer.Argument(..., help="Dataset name (see `vqabench datasets list`)."),
) -> None:
    """Facts of a dataset from its manifest: source, licence, protocols, sequences; facts
    that could not be confirmed are marked (unconfirmed)."""
    from vqabench.datasets.manifest import load_manifest

    m = load_manifest(name)

    def mark(key: str, unconfirmed: frozenset[str]) -> str:
        return " (unconfirmed)" if key in unconfirmed or "*" in unconfirmed else ""

    typer.echo(f"{m.title}: {m.description}")
    for key in ("source", "licence", "citation"):
        typer.echo(f"{key}: {getattr(m, key)}{mark(key, m.unconfirmed)}")
    for p in m.protocols:
        ip = f", intra period {p['intra_period']}" if "intra_period" in p else ""
        typer.echo(f"protocol {p['name']}: frames {p['frames']}{ip}; {p.get('note', '')}")
    for e in m.sequences:
        facts = " ".join(f"{k}={v}{'?' if not e.confirmed(k) else ''}" for k, v in e.facts.items())
        typer.echo(f"{e.name}\t{e.file}\t{facts}" + ("\toptional" if e.optional else ""))
    if not m.sequences:
        typer.echo(
            f"sequences: not listed ({m.data.get('expected_count', '?')} expected); "
            f"names follow {m.naming.get('layout', '')}"
        )


@datasets_app.command("verify")
def verify(
    name: str = typer.Argument(..., help="Dataset name (see `vqabench datasets list`)."),
    root: Path = typer.Option(..., "--root", help="Folder holding your copy."),
    checksums: bool = typer.Option(
        False, "--checksums/--no-checksums", help="Also compare SHA-256 where the manifest has one."
    ),
) -> None:
    """Report missing, extra, misnamed and corrupt (size/checksum) files; exit 1 if any."""
    from vqabench.datasets.manifest import load_manifest
    from vqabench.datasets.verify import verify_dataset

    report = verify_dataset(load_manifest(name), root, checksums=checksums)
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


@app.command("make-pairs")
def make_pairs(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name or folder of videos."),
    out: Path = typer.Option(..., "--out", help="Output folder (resumed if present)."),
    root: Path = typer.Option(None, "--root", help="Data root of a named dataset."),
    seed: int = typer.Option(0, "--seed", help="Seed of the patch positions."),
    jobs: int = typer.Option(
        None, "--jobs", metavar="N", help="Worker processes (default: CPU cores, as for run)."
    ),
    patch: str = typer.Option("256x256x12", "--patch", help="Patch WIDTHxHEIGHTxFRAMES."),
    patches_per_video: int = typer.Option(
        1, "--patches-per-video", help="Patch pairs per transcoded video."
    ),
    frames: int = typer.Option(None, "--frames", help="Frames per source (first N)."),
    start: int = typer.Option(0, "--start", help="First frame (named datasets)."),
    size: str = typer.Option(None, "--size", help="Scale sources to WIDTHxHEIGHT."),
    sources: str = typer.Option(None, "--sources", help="Comma-separated source names."),
    reference: str = typer.Option(None, "--reference", help="Stage 1, default x264:qp=30,37,42."),
    transcode: list[str] = typer.Option(
        None,
        "--transcode",
        metavar="SPEC",
        help=(
            "Stage 2 ladder, repeatable; default x264:qp=32,34,36,38,40,42 "
            "aom-av1:qp=38,43,48,53,58,63 vp9:qp=38,43,48,53,58,63."
        ),
    ),
    defect: list[str] = typer.Option(
        None,
        "--defect",
        metavar="NAME=A,B",
        help=(
            "Off-codec D besides the transcodes, repeatable: R with white noise (std in 8-bit "
            "code values), blur (std px) or an exposure gain, e.g. noise=4,8,16 blur=1,2."
        ),
    ),
    work_dir: Path = typer.Option(
        None, "--work-dir", help="Where converted sources go (default OUT/sources)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    threads: int = typer.Option(
        None,
        "--threads",
        metavar="N",
        help="torch/BLAS threads of this process (default 1; each of "
        "--jobs N workers gets cores // N).",
    ),
    executor: str = EXECUTOR_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
) -> None:
    """Make (R, D) patch pairs labelled VMAF(S, D) for UGC quality-model training.

    Runs as jobs of the runner (same store, executors and resume as `vqabench run`):
    interrupted, the same command resumes; `vqabench status OUT` counts the jobs.
    """
    n_threads = set_threads(threads)
    from vqabench import datasets
    from vqabench.cli.run import BarFeed
    from vqabench.config import default_jobs, parse_size
    from vqabench.datasets.patches import PatchSize
    from vqabench.errors import invalid
    from vqabench.experiment import parse_codec_spec, parse_reference_spec
    from vqabench.runner.executors import make_executor
    from vqabench.runner.pairs import make_pairs as run
    from vqabench.runner.pairs import parse_defect_spec

    patch_size = PatchSize.parse(patch)
    defects = [parse_defect_spec(t) for t in defect or []]
    from vqabench.datasets.named import CONVENTIONS, load_named

    dims = parse_size(size) if size else None
    if dataset in CONVENTIONS:
        seqs = load_named(
            dataset, frames=frames, size=dims, work_dir=work_dir or out, root=root, start=start
        )
    elif start:
        raise invalid(
            "--start", start, f"0 unless --dataset is a named dataset ({', '.join(CONVENTIONS)})"
        )
    else:
        seqs = datasets.load(dataset, frames=frames, size=dims, work_dir=work_dir or out, root=root)
    if sources:
        wanted = [s.strip() for s in sources.split(",") if s.strip()]
        names = [s.name for s in seqs]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise invalid("--sources", ",".join(unknown), f"names among {', '.join(names)}")
        seqs = [s for s in seqs if s.name in wanted]
    ref_spec = parse_reference_spec(reference) if reference else None
    ladder = [parse_codec_spec(t) for t in transcode] if transcode else None
    feed = BarFeed(f"make-pairs -> {out}", "jobs")
    try:
        with make_executor(executor, scheduler, threads=n_threads) as execute:
            result = run(
                seqs,
                out,
                patch=patch_size,
                patches_per_video=patches_per_video,
                seed=seed,
                jobs=default_jobs() if jobs is None else jobs,
                reference=ref_spec,
                transcodes=ladder,
                executor=execute,
                progress=feed.both,
                defects=defects,
            )
    finally:
        feed.stop()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "out_dir": str(result.out_dir),
                    "manifest": str(result.manifest),
                    "pairs": result.pairs,
                    "units": result.units,
                    "computed": result.computed,
                    "reused": result.reused,
                    "references": result.references,
                    "timings": dict(result.timings),
                    "wall_s": result.wall_s,
                },
                sort_keys=True,
            )
        )
        return
    console.print(
        f"wrote {result.manifest}: {result.pairs} patch pairs from {result.units} "
        f"transcodes ({result.computed} computed, {result.reused} reused) in "
        f"{result.wall_s:.1f} s"
    )
