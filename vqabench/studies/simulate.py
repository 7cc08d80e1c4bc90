"""``vqabench study simulate``: answer a study with simulated observers, to pilot it.

Each simulated observer registers like a person (with the plan of its id) and answers every
trial of its plan through :func:`vqabench.studies.app.submit_answer`, the function of the web
app's answer endpoint; the answers are stored with ``simulated = 1`` and the participant's
user agent records the simulation (``vqabench study simulate truth=... noise=... seed=...``).
The analysis then counts them ("N of M answers simulated").

Observer model (``truth`` = a metric of the study's runs; ``q`` its value per condition, sign
flipped for a lower-is-better metric so that higher ``q`` is better):

- 2AFC: Thurstone Case V, ``P(a preferred to b) = Phi((q_a - q_b) / noise)``, forced choice
  (never neutral); the observer clicks the side the preferred video is shown on. So a metric
  difference ``d`` is ``d * JOD_SIGMA / noise`` JOD: ``0.674 * noise`` is 1 JOD (75 %).
  Attention trials: the undegraded video is chosen.
- ACR/DCR: perceived quality ``q + N(0, noise**2)``, mapped linearly from the range of ``q``
  over the study's conditions onto 1.5..4.5 (best condition 4.5), rounded and clipped to 1-5;
  the hidden reference (ACR) is rated 5 and an attention video 1.
- ``noise`` in the metric's units; default: the median ``|q_a - q_b|`` over pairs of
  conditions of one sequence (the typical pair is then preferred by 84 %, 1.48 JOD).

Active sampling (``study.json`` ``sampling = "active"``): before each test trial, the test
trial of :func:`vqabench.studies.sampling.next_pair` (over the observer's unanswered test
trials, given every answer so far) is brought forward in the observer's plan, as the web app
does (:func:`vqabench.studies.sampling.bring_forward_next`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

from vqabench.errors import ConfigError, DatasetError, invalid
from vqabench.studies import db as answers_db
from vqabench.studies.design import load_spec, participant_plan

__all__ = ["SIMULATED_AGENT", "Simulation", "truth_values", "simulate_study"]

SIMULATED_AGENT = "vqabench study simulate"


@dataclass(frozen=True)
class Simulation:
    """What a simulation did: observers (ids), answers stored, the truth and noise used."""

    participants: list[str]
    answers: int
    truth: str
    noise: float
    higher_is_better: bool


def truth_values(spec: dict, truth: str) -> tuple[dict[str, float], str, bool]:
    """Metric value of every condition of the study from its runs' results.csv.

    Args:
        spec: the study spec.
        truth: ``METRIC`` or ``METRIC@ANCHOR`` (anchor ``source`` or ``reference``; needed
            when the runs measured the metric against both).

    Returns:
        (condition id -> value, the ``METRIC@ANCHOR`` used, higher_is_better from the
        metric registry).

    Raises:
        ConfigError: a metric or anchor the runs did not measure, or a condition without it.
        DatasetError: a run's results.csv is missing.
    """
    from vqabench.metrics import get_class

    metric, _, anchor = truth.partition("@")
    rows = []
    for run in spec["runs"]:
        path = Path(run["path"]) / "results.csv"
        if not path.is_file():
            raise DatasetError(
                f"run {run['path']!r} of the study has no results.csv; "
                "simulated observers need its metric values"
            )
        with open(path, newline="", encoding="utf-8") as f:
            rows += [(int(spec["runs"].index(run)), r) for r in csv.DictReader(f)]
    found = sorted({f"{r['metric']}@{r['anchor']}" for _, r in rows})
    anchors = sorted({r["anchor"] for _, r in rows if r["metric"] == metric})
    if not anchors or (anchor and anchor not in anchors):
        raise invalid("truth", truth, f"a metric of the study's runs: {', '.join(found)}")
    if not anchor:
        if len(anchors) > 1:
            raise invalid(
                "truth",
                truth,
                f"one of {', '.join(f'{metric}@{a}' for a in anchors)}"
                " (the runs measured it against more than one anchor)",
            )
        anchor = anchors[0]
    values = {
        (i, r["sequence"], r["reference"], r["codec"], r["rate_point"]): float(r["value"])
        for i, r in rows
        if r["metric"] == metric and r["anchor"] == anchor
    }
    out = {}
    for c in spec["conditions"]:
        key = (c["run"], c["sequence"], c["reference"], c["codec"], c["rate_point"])
        if key not in values or not math.isfinite(values[key]):
            raise ConfigError(
                f"truth={truth!r}: condition {c['codec']} {c['rate_point']} of "
                f"{c['sequence']} has no finite {metric}@{anchor} value"
            )
        out[c["id"]] = values[key]
    return out, f"{metric}@{anchor}", bool(get_class(metric).higher_is_better)


def _default_noise(spec: dict, q: dict[str, float]) -> float:
    diffs = [
        abs(q[a["id"]] - q[b["id"]])
        for a in spec["conditions"]
        for b in spec["conditions"]
        if a["id"] < b["id"] and a["sequence"] == b["sequence"]
    ]
    diffs = [d for d in diffs if d > 0]
    return float(np.median(diffs)) if diffs else 1.0


def _rating(q: float, lo: float, hi: float) -> int:
    mapped = 3.0 if hi == lo else 1.5 + 3.0 * (q - lo) / (hi - lo)
    return int(np.clip(np.round(mapped), 1, 5))


def simulate_study(
    study_dir: str | Path,
    *,
    observers: int,
    truth: str,
    noise: float | None = None,
    seed: int = 0,
    trials: int | None = None,
) -> Simulation:
    """Answer the study with ``observers`` simulated observers (see the module docstring).

    Args:
        study_dir: the study directory (answers go to its answers.sqlite, beside any
            answers of people).
        observers: number of simulated observers (ids ``sim<seed>-<k>``).
        truth: the metric the observers follow, ``METRIC`` or ``METRIC@ANCHOR``.
        noise: observer noise in the metric's units (> 0); default: the median difference
            between conditions of one sequence.
        seed: seed of the observers' ids and answers.
        trials: answer only the first ``trials`` trials of each plan (a shorter session;
            with active sampling, the most informative ones); default every trial.

    Returns:
        A :class:`Simulation`.

    Raises:
        ConfigError: bad argument, or observers of this seed already answered.
        DatasetError: no study.
    """
    from vqabench.studies.app import submit_answer
    from vqabench.studies.sampling import bring_forward_next

    if isinstance(observers, bool) or int(observers) != observers or observers < 1:
        raise invalid("observers", observers, "an integer >= 1")
    if noise is not None and not (math.isfinite(noise) and noise > 0):
        raise invalid("noise", noise, "a standard deviation > 0 in the metric's units")
    if trials is not None and (isinstance(trials, bool) or int(trials) != trials or trials < 1):
        raise invalid("trials", trials, "an integer >= 1 (trials answered per observer)")
    study_dir = Path(study_dir)
    spec = load_spec(study_dir)
    values, label, higher = truth_values(spec, truth)
    q = {cid: v if higher else -v for cid, v in values.items()}
    sigma = _default_noise(spec, q) if noise is None else float(noise)
    by_id = {t["id"]: t for t in spec["trials"]}
    lo, hi = min(q.values()), max(q.values())
    active = spec.get("sampling", "fixed") == "active"
    rng = np.random.default_rng([seed, observers])
    agent = f"{SIMULATED_AGENT} truth={label} noise={sigma:g} seed={seed}"
    db = answers_db.open_db(study_dir / answers_db.DB_NAME, study_id=spec["study_id"])
    pids = [f"sim{seed}-{k}" for k in range(observers)]
    stored = 0
    try:
        for pid in pids:
            if not answers_db.register(db, pid, participant_plan(spec, pid), agent):
                raise invalid(
                    "seed",
                    seed,
                    "a seed not used by an earlier simulation of this "
                    f"study (observer {pid!r} exists)",
                )
            plan = answers_db.participant(db, pid)
            for position in range(len(plan) if trials is None else min(trials, len(plan))):
                if active and bring_forward_next(db, spec, pid, rng):
                    plan = answers_db.participant(db, pid)
                tid, swapped = plan[position]
                t = by_id[tid]
                body = {
                    "study": spec["study_id"],
                    "participant": pid,
                    "trial": tid,
                    "position": position,
                    "response_ms": 0,
                }
                if spec["design"] == "2afc":
                    if t["kind"] == "attention":
                        a_wins = True
                    else:
                        p_a = special.ndtr((q[t["a"]] - q[t["b"]]) / sigma)
                        a_wins = bool(rng.random() < p_a)
                    body["side"] = "right" if a_wins == swapped else "left"
                elif t["kind"] == "attention":
                    body["score"] = 1
                elif t["condition"] not in q:  # the hidden reference (source)
                    body["score"] = 5
                else:
                    body["score"] = _rating(q[t["condition"]] + rng.normal(0, sigma), lo, hi)
                submit_answer(
                    db,
                    spec,
                    by_id,
                    pid,
                    body,
                    simulated=True,
                    names_trial=lambda ref, _position, tid: ref == tid,
                )
                stored += 1
    finally:
        db.close()
    return Simulation(pids, stored, label, sigma, higher)
