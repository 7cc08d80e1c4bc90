"""``vqabench study create|serve|simulate|analyze``: subjective studies from runs.

Only maps flags onto :mod:`vqabench.studies`; errors are typed and printed by the CLI shell.
"""

from __future__ import annotations

from pathlib import Path

import typer

from vqabench.cli.app import app, console
from vqabench.cli.coercion import PlainTyper

__all__ = ["study_app", "create", "serve", "simulate", "analyze"]

study_app = PlainTyper(
    help="Subjective studies (2AFC, ACR, DCR) on the videos of runs.", no_args_is_help=True
)
app.add_typer(study_app, name="study")


@study_app.command("create")
def create(
    run_dirs: list[Path] = typer.Argument(..., help="Run directories (vqabench run --out)."),
    design: str = typer.Option(..., "--design", help="2afc | acr | dcr."),
    out: Path = typer.Option(..., "--out", help="Study directory to create."),
    seed: int = typer.Option(0, "--seed", help="Seed of repeats, training trial, orders."),
    anchor: str = typer.Option(
        None, "--anchor", help="2AFC anchor codec (default: the run's anchor or first codec)."
    ),
    pairs: str = typer.Option("anchor", "--pairs", help="2AFC: anchor | all."),
    ladder: bool = typer.Option(
        True, "--ladder/--no-ladder", help="2AFC: also compare adjacent rate points of a codec."
    ),
    repeats: float = typer.Option(0.1, "--repeats", help="Share of test trials repeated."),
    attention: int = typer.Option(2, "--attention", help="Number of attention trials."),
    title: str = typer.Option("Video quality study", "--title", help="Shown to participants."),
    presentation: str = typer.Option(
        "auto",
        "--presentation",
        help="auto | side-by-side | "
        "toggle | sequential (videos at native size; auto: "
        "2AFC side by side when both fit --screen, else toggle).",
    ),
    screen: str = typer.Option(
        "1920x1080",
        "--screen",
        help="Participants' browser viewport "
        "WIDTHxHEIGHT (CSS px at zoom 100 %) the videos must fit.",
    ),
    sampling: str = typer.Option(
        "fixed",
        "--sampling",
        help="2AFC: fixed | active (next pair per participant by expected information gain).",
    ),
    consent: Path = typer.Option(
        None,
        "--consent",
        help="Text file shown on the start page; participants start only by agreeing.",
    ),
    completion_code: str = typer.Option(
        None,
        "--completion-code",
        help="Code shown once every trial is answered (Prolific/MTurk); 'generate' draws one.",
    ),
    min_view_s: float = typer.Option(
        None,
        "--min-view-s",
        help="Shortest time from serving "
        "a trial to its answer that analysis accepts (default: "
        "the trial's playing time).",
    ),
) -> None:
    """Pick trials from runs, re-decode their bitstreams and prepare browser media."""
    from vqabench.studies import create_study

    spec = create_study(
        run_dirs,
        design=design,
        out=out,
        seed=seed,
        anchor=anchor,
        pairs=pairs,
        ladder=ladder,
        repeat_fraction=repeats,
        attention=attention,
        title=title,
        presentation=presentation,
        screen=screen,
        sampling=sampling,
        consent=consent,
        completion_code=completion_code,
        min_view_s=min_view_s,
    )
    kinds = [t["kind"] for t in spec["trials"]]
    console.print(
        f"study {spec['study_id']} ({design}): {len(spec['conditions'])} conditions, "
        f"{kinds.count('test')} test, {kinds.count('repeat')} repeated, "
        f"{kinds.count('attention')} attention trials and 1 training trial in "
        f"{out}; videos at native size, {spec['presentation']}",
        markup=False,
    )
    if spec.get("completion_code"):
        console.print(f"completion code: {spec['completion_code']}", markup=False)
    console.print(f"serve it with: vqabench study serve {out}", markup=False)


@study_app.command("serve")
def serve(
    study: Path = typer.Argument(..., help="Study directory."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind (loopback by default; another address "
        "makes the study reachable from other machines).",
    ),
    port: int = typer.Option(8000, "--port", help="TCP port (0 = any free port)."),
    registrations_per_minute: int = typer.Option(
        60, "--registrations-per-minute", help="New participants accepted per minute (429 beyond)."
    ),
    threads: int = typer.Option(
        8,
        "--threads",
        help="Requests handled at once (waitress worker threads; more wait in a queue).",
    ),
    behind_proxy: str = typer.Option(
        None,
        "--behind-proxy",
        help="Address of a reverse "
        "proxy (e.g. 127.0.0.1 for nginx or Caddy on this "
        "machine) whose X-Forwarded-For/-Host/-Proto/-Port "
        "headers are trusted; without it they are dropped.",
    ),
) -> None:
    """Serve the study's web app (waitress); answers go to STUDY/answers.sqlite."""
    from vqabench.studies import serve as serve_study

    serve_study(
        study,
        host=host,
        port=port,
        registrations_per_minute=registrations_per_minute,
        threads=threads,
        behind_proxy=behind_proxy,
    )


@study_app.command("simulate")
def simulate(
    study: Path = typer.Argument(..., help="Study directory."),
    observers: int = typer.Option(..., "--observers", help="Number of simulated observers."),
    truth: str = typer.Option(
        ...,
        "--truth",
        help="Metric of the study's runs the observers follow: METRIC or METRIC@ANCHOR.",
    ),
    noise: float = typer.Option(
        None,
        "--noise",
        help="Observer noise in the metric's units "
        "(2AFC: P(a) = Phi((q_a - q_b) / noise)); default: the median "
        "difference between conditions of one sequence.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the observers and their answers."),
    trials: int = typer.Option(
        None, "--trials", help="Trials answered per observer (default: all of its plan)."
    ),
) -> None:
    """Answer the study with simulated observers (stored and reported as simulated)."""
    from vqabench.studies.simulate import simulate_study

    sim = simulate_study(
        study, observers=observers, truth=truth, noise=noise, seed=seed, trials=trials
    )
    console.print(
        f"{len(sim.participants)} simulated observers ({sim.participants[0]}..) "
        f"stored {sim.answers} answers following {sim.truth} "
        f"({'higher' if sim.higher_is_better else 'lower'} is better) with noise "
        f"{sim.noise:g} in {study}",
        markup=False,
    )
    console.print(f"analyse with: vqabench study analyze {study}", markup=False)


@study_app.command("analyze")
def analyze(
    study: Path = typer.Argument(..., help="Study directory."),
    neutral: str = typer.Option("half", "--neutral", help="2AFC neutral answers: half | exclude."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples of participants."),
    scaling: str = typer.Option(
        "thurstone",
        "--scaling",
        help="2AFC scaling: thurstone (Case V, JOD units) | bt (Bradley-Terry, choix).",
    ),
    prior: float = typer.Option(
        1.0,
        "--prior",
        help="Thurstone: neutral pseudo-answers per "
        "compared pair (keeps unanimous pairs finite; 0 = maximum "
        "likelihood).",
    ),
    alpha: float = typer.Option(0.01, "--alpha", help="Bradley-Terry regularisation (choix)."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    max_attention_failures: int = typer.Option(
        0, "--max-attention-failures", help="Failed attention trials allowed."
    ),
    max_timing_failures: int = typer.Option(
        0,
        "--max-timing-failures",
        help="Answers allowed "
        "before the server served their videos or faster "
        "than the minimum viewing time.",
    ),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Draw PNG figures."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Join the study's runs even when a run "
        "directory now holds a run of another config (noted in the "
        "output).",
    ),
    exclude_outliers: bool = typer.Option(
        False,
        "--exclude-outliers",
        help="2AFC: remove the observers pwcmp's outlier analysis lists (default: list them only).",
    ),
) -> None:
    """Screen observers, compute preferences, scaled scores or MOS: STUDY/analysis/."""
    from vqabench.reports.tables import to_markdown
    from vqabench.studies import analyze_study

    result = analyze_study(
        study,
        neutral=neutral,
        resamples=bootstrap,
        method=scaling,
        prior=prior,
        alpha=alpha,
        seed=seed,
        max_attention_failures=max_attention_failures,
        max_timing_failures=max_timing_failures,
        figures=figures,
        force=force,
        exclude_outliers=exclude_outliers,
    )
    console.print(
        to_markdown(
            result.scores[["sequence", "codec", "rate_point", "metric", "value", "lo", "hi", "n"]],
            decimals=3,
        ),
        markup=False,
    )
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    removed = result.observers[result.observers["removed"]] if len(result.observers) else []
    for row in getattr(removed, "itertuples", lambda: [])():
        console.print(f"removed {row.participant}: {row.reason}", markup=False)
    console.print(
        f"written: {result.out_dir / 'scores.csv'}, {result.out_dir / 'report.md'}", markup=False
    )
