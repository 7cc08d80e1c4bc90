"""``vqabench study analyze``: screening, preferences, scaling, MOS; files in STUDY/analysis.

Written (atomically) to ``STUDY/analysis/``:

- ``scores.csv``: one row per (sequence, reference, codec, rate point) and score, in the tidy
  layout of results.csv (same key and rate columns, ``metric``, ``value``, ``anchor`` =
  ``source``) plus ``lo``, ``hi`` (interval), ``n`` and ``simulated`` (answers of
  ``vqabench study simulate`` among those behind the score; 0 for people only). Metrics:
  ``jod`` (2AFC, Thurstone Case V in JOD units, the default) or ``bt`` (2AFC, Bradley-Terry
  log-strength), mean 0 per sequence; ``mos`` and ``dmos`` (ACR; DMOS by ACR-HR; both
  after BT.500 screening), ``dmos`` (DCR, the mean impairment score). ACR also has, side by
  side, ``mos_plain`` (MOS of every observer kept by the attention trials, no BT.500
  screening) and ``mos_mle`` (true quality of the SUREAL subject model over those observers,
  :mod:`vqabench.studies.subject_model`; NaN with a note where it has no maximum).
- ``preferences.csv`` (2AFC): per compared pair, wins, neutral answers, preference for ``a``
  with its Wilson interval (clipped to [0, 1]: exactly 0 or 1 for a unanimous pair).
- ``pooled.csv`` (2AFC): wins / neutral / losses per pair of codecs over sequences and
  participants (:func:`pooled_preferences`).
- ``observers.csv``: per participant, answers (``simulated``: how many of them came from
  ``vqabench study simulate``), attention failures, repeat agreement, answers timed by the
  server and failing its timing (simulated answers are not timed), BT.500 counts (ACR/DCR)
  and whether and why they were removed; ACR: the subject model's bias and inconsistency
  with intervals (``mle_*``); 2AFC: pwcmp's outlier analysis (``outlier_loglik``,
  ``outlier_distance``, ``outlier``; :func:`vqabench.studies.scaling.observer_outliers`),
  outliers removed only with ``exclude_outliers``.
- ``correlation.csv`` (and ``correlation_comparisons.csv``): every metric of the study's
  runs against each score, overall and per codec (:mod:`vqabench.evaluation.correlation`).
- ``report.md`` with figures (preference bars with intervals; scores against bitrate) and
  the correlation tables.

Screening: a participant with more than ``max_timing_failures`` answers that fail the
server's timing (given before the server served the trial's videos, or faster than the
minimum viewing time) is removed, as is one who fails more than ``max_attention_failures``
attention trials (2AFC: not choosing the undegraded video, neutral included; ACR/DCR: rating the
degraded video above 2); in ACR/DCR the BT.500 procedure then removes outlying observers.
Training trials are never analysed; repeated trials only measure consistency
(``repeat_agreement``), the first presentation is the one analysed. A 2AFC sequence whose
answers do not connect all its conditions is not scaled (NaN, said in the report); one where
a condition never wins or never loses has no maximum-likelihood scale: it is scaled only with
a prior (Thurstone, default: one neutral pseudo-answer per compared pair) or ``alpha > 0``
(Bradley-Terry), and the report says its scores depend on that value (with their range at a
tenth, once and ten times the value). A figure with nothing to draw is skipped with a note.
Before anything is joined to the study's runs, each run directory is checked to hold the run
the study was made from (:mod:`vqabench.studies.runs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vqabench.errors import DatasetError, invalid
from vqabench.studies import scaling
from vqabench.studies.db import DB_NAME, answers, open_db
from vqabench.studies.design import load_spec, min_view_ms

__all__ = [
    "SCORE_COLUMNS",
    "StudyAnalysis",
    "analyze_study",
    "analyze_answers",
    "pooled_preferences",
]

SCORE_COLUMNS = (
    "sequence",
    "reference",
    "codec",
    "rate_point",
    "bits",
    "bpp",
    "kbps",
    "enc_s",
    "dec_s",
    "metric",
    "value",
    "anchor",
    "bitstream",
    "group",
    "coded_pix_fmt",
    "native_rate_point",
    "lo",
    "hi",
    "n",
    "simulated",
)
_COND_COLUMNS = SCORE_COLUMNS[:9] + ("bitstream", "group", "coded_pix_fmt", "native_rate_point")
_MLE_COLUMNS = (
    "mle_bias",
    "mle_bias_lo",
    "mle_bias_hi",
    "mle_inconsistency",
    "mle_inconsistency_lo",
    "mle_inconsistency_hi",
)


@dataclass
class StudyAnalysis:
    """Tables of an analysed study (also written under ``STUDY/analysis``)."""

    scores: pd.DataFrame
    observers: pd.DataFrame
    preferences: pd.DataFrame | None
    out_dir: Path | None = None
    pooled: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _attention_failed(spec: dict, trial: dict, answer) -> bool:
    if spec["design"] == "2afc":
        return answer.choice != "a"  # "a" is the undegraded source
    return answer.score > 2


def _timing(spec: dict, trials: dict, rows: list) -> tuple[int, int, int, int]:
    """(answers timed by the server, failed, of which videos not fetched, of which faster
    than the minimum viewing time) of one participant's analysed answers; answers of
    ``vqabench study simulate`` are not timed (no person watched anything)."""
    timed = [a for a in rows if a.media_needed is not None and not a.simulated]
    unfetched = [a for a in timed if (a.media_fetched or 0) < a.media_needed]
    fast = [
        a for a in timed if a.served_ms is None or a.served_ms < min_view_ms(spec, trials[a.trial])
    ]
    failed = {id(a) for a in unfetched} | {id(a) for a in fast}
    return len(timed), len(failed), len(unfetched), len(fast)


def _repeat_agreement(spec: dict, trials: dict, rows: list) -> float:
    """2AFC: share of repeated trials answered the same; ACR/DCR: mean |score difference|."""
    by_trial = {a.trial: a for a in rows}
    diffs = []
    for a in rows:
        first = by_trial.get(trials[a.trial].get("repeat_of", ""))
        if first is None:
            continue
        if spec["design"] == "2afc":
            diffs.append(float(a.choice == first.choice))
        else:
            diffs.append(abs(a.score - first.score))
    return float(np.mean(diffs)) if diffs else math.nan


def _condition_row(cond: dict, metric: str, value: float, lo: float, hi: float, n: int) -> dict:
    row = {k: cond[k] for k in _COND_COLUMNS}
    return {**row, "metric": metric, "value": value, "anchor": "source", "lo": lo, "hi": hi, "n": n}


def _preferences(
    spec: dict, trials: dict, cond: dict, rows: list, neutral: str, confidence: float
) -> pd.DataFrame:
    out = []
    tests = [t for t in spec["trials"] if t["kind"] == "test"]
    for t in tests:
        got = [a for a in rows if a.trial == t["id"]]
        wa = sum(a.choice == "a" for a in got)
        wb = sum(a.choice == "b" for a in got)
        nn = sum(a.choice == "neutral" for a in got)
        k, n = (wa + 0.5 * nn, wa + wb + nn) if neutral == "half" else (wa, wa + wb)
        lo, hi = scaling.wilson_interval(k, n, confidence=confidence)
        a, b = cond[t["a"]], cond[t["b"]]
        out.append(
            {
                "sequence": t["sequence"],
                "reference": a["reference"],
                "a_codec": a["codec"],
                "a_rate_point": a["rate_point"],
                "a_kbps": a["kbps"],
                "b_codec": b["codec"],
                "b_rate_point": b["rate_point"],
                "b_kbps": b["kbps"],
                "answers": len(got),
                "a_wins": wa,
                "b_wins": wb,
                "neutral": nn,
                "preference_a": k / n if n else math.nan,
                "lo": lo,
                "hi": hi,
            }
        )
    return pd.DataFrame(out)


def pooled_preferences(preferences: pd.DataFrame) -> pd.DataFrame:
    """2AFC answers pooled per pair of codecs, over sequences, rate points and participants.

    Every compared pair of conditions of two different codecs adds its raw answers: wins of
    ``codec_a``, neutral answers and wins of ``codec_b`` (whatever the neutral rule of the
    scaling), as GLVC's user study reports them; shares are percent of all answers. Pairs of
    one codec (the rate ladder) are left out. A pair of codecs is oriented as it first
    appears; a later row with the two the other way round counts with its sides swapped.

    Args:
        preferences: the table of :func:`analyze_answers` (``a_codec``, ``b_codec``,
            ``a_wins``, ``neutral``, ``b_wins``, ``answers``, ``sequence``).

    Returns:
        One row per pair of codecs: ``codec_a``, ``codec_b``, ``sequences``, ``pairs``,
        ``answers``, ``a_wins``, ``neutral``, ``b_wins``, ``a_pct``, ``neutral_pct``,
        ``b_pct`` (NaN shares when no answers).
    """
    totals: dict[tuple[str, str], dict] = {}
    for r in preferences.itertuples():
        a, b, wa, wb = str(r.a_codec), str(r.b_codec), int(r.a_wins), int(r.b_wins)
        if a == b:
            continue
        if (b, a) in totals:
            a, b, wa, wb = b, a, wb, wa
        t = totals.setdefault(
            (a, b),
            {
                "codec_a": a,
                "codec_b": b,
                "sequences": set(),
                "pairs": 0,
                "answers": 0,
                "a_wins": 0,
                "neutral": 0,
                "b_wins": 0,
            },
        )
        t["sequences"].add(r.sequence)
        t["pairs"] += 1
        t["answers"] += int(r.answers)
        t["a_wins"] += wa
        t["neutral"] += int(r.neutral)
        t["b_wins"] += wb
    rows = []
    for t in totals.values():
        n = t["answers"]
        share = {
            f"{k}_pct": 100 * t[c] / n if n else math.nan
            for k, c in (("a", "a_wins"), ("neutral", "neutral"), ("b", "b_wins"))
        }
        rows.append({**t, "sequences": len(t["sequences"]), **share})
    return pd.DataFrame(
        rows,
        columns=[
            "codec_a",
            "codec_b",
            "sequences",
            "pairs",
            "answers",
            "a_wins",
            "neutral",
            "b_wins",
            "a_pct",
            "neutral_pct",
            "b_pct",
        ],
    )


def _connected(wins: np.ndarray) -> bool:
    from scipy.sparse.csgraph import connected_components

    return connected_components((wins + wins.T) > 0, directed=False)[0] == 1


def _label(c: dict) -> str:
    return f"{c['codec']} {c['rate_point']}"


#: 2AFC scaling methods: metric name in scores.csv, the option that keeps unanimous pairs
#: finite, the fit of one count matrix and the bootstrap over participants.
SCALINGS: dict[str, tuple[str, str, Callable, Callable]] = {
    "thurstone": ("jod", "prior", scaling.thurstone_case_v, scaling.bootstrap_thurstone),
    "bt": ("bt", "alpha", scaling.bradley_terry, scaling.bootstrap_bradley_terry),
}


def _knob_note(seq: str, wins: np.ndarray, obstacle: str, method: str, value: float) -> str:
    """The note on a sequence whose scaled scores are set by the prior (Thurstone) or the
    regulariser (Bradley-Terry): the range of its scores at a tenth, at and at ten times the
    value used."""
    _, knob, fit, _ = SCALINGS[method]
    spread = [
        f"{np.ptp(fit(wins, **{knob: v})):.2f} at {knob}={v:g}"
        for v in (value / 10, value, value * 10)
    ]
    what = (
        "Thurstone (JOD) scores depend on the prior"
        if method == "thurstone"
        else "Bradley-Terry scores depend on --alpha"
    )
    return (
        f"{seq}: {what} ({obstacle}; maximum likelihood has no finite answer): the range "
        f"of its scores is {', '.join(spread)}"
    )


def _sequence_matrices(
    trials: dict, cond: dict, rows: list, kept: list[str], neutral: str
) -> dict[str, tuple[list[str], list[np.ndarray], np.ndarray]]:
    """2AFC per sequence: its condition ids, one count matrix per kept participant (in the
    order of ``kept``) and the number of answers showing each condition."""
    out = {}
    for seq in sorted({c["sequence"] for c in cond.values()}):
        ids = sorted(
            (c["id"] for c in cond.values() if c["sequence"] == seq), key=lambda i: int(i[1:])
        )
        index = {cid: k for k, cid in enumerate(ids)}
        mats, counts = [], np.zeros(len(ids), dtype=int)
        for pid in kept:
            outcomes = [
                (index[trials[a.trial]["a"]], index[trials[a.trial]["b"]], a.choice)
                for a in rows
                if a.participant == pid
                and trials[a.trial]["kind"] == "test"
                and trials[a.trial]["sequence"] == seq
            ]
            for i, j, _ in outcomes:
                counts[i] += 1
                counts[j] += 1
            mats.append(scaling.comparison_matrix(outcomes, len(ids), neutral=neutral))
        out[seq] = ids, mats, counts
    return out


def _pair_scores(
    spec: dict,
    trials: dict,
    cond: dict,
    rows: list,
    kept: list[str],
    *,
    neutral: str,
    method: str,
    resamples: int,
    knob_value: float,
    confidence: float,
    seed: int,
    notes: list[str],
) -> list[dict]:
    """2AFC scaled scores per sequence (``method`` of :data:`SCALINGS`), with notes."""
    metric, knob, _, bootstrap = SCALINGS[method]
    out = []
    for seq, (ids, mats, counts) in _sequence_matrices(trials, cond, rows, kept, neutral).items():
        index = {cid: k for k, cid in enumerate(ids)}
        if not mats or counts.sum() == 0:
            continue
        wins = np.sum(mats, axis=0)
        obstacle = scaling.ml_obstacle(wins, [_label(cond[cid]) for cid in ids])
        est = lo = hi = np.full(len(ids), math.nan)
        if not _connected(wins):
            notes.append(
                f"{seq}: not scaled, the answers do not connect all its conditions (scores NaN)"
            )
        elif obstacle and knob_value == 0:
            notes.append(
                f"{seq}: not scaled, maximum likelihood (--{knob} 0) has no finite "
                f"answer ({obstacle}); with --{knob} > 0 the scores depend on its "
                "value (scores NaN)"
            )
        else:
            est, lo, hi, unbounded = bootstrap(
                mats, resamples=resamples, confidence=confidence, seed=seed, **{knob: knob_value}
            )
            if obstacle:
                notes.append(_knob_note(seq, wins, obstacle, method, knob_value))
            elif unbounded:
                notes.append(
                    f"{seq}: in {unbounded} of {resamples} bootstrap resamples "
                    "maximum likelihood has no finite answer, so its intervals "
                    + ("are NaN" if knob_value == 0 else f"depend on --{knob}")
                )
            answered = sum(m.sum() > 0 for m in mats)
            if answered < 2:
                lo = hi = np.full(len(ids), math.nan)
                notes.append(
                    f"{seq}: one participant answered, so there is no interval over "
                    "participants (lo, hi NaN)"
                )
            elif np.all(hi - lo == 0):
                notes.append(
                    f"{seq}: every bootstrap resample gave the same scores (the "
                    f"{answered} participants answered alike): intervals of width 0 "
                    "do not show the uncertainty of so few answers"
                )
        for cid in ids:
            k = index[cid]
            out.append(
                _condition_row(
                    cond[cid], metric, float(est[k]), float(lo[k]), float(hi[k]), int(counts[k])
                )
            )
    return out


def _mos_scores(
    spec: dict,
    trials: dict,
    cond: dict,
    rows: list,
    kept: list[str],
    confidence: float,
    notes: list[str],
) -> tuple[list[dict], dict[str, tuple]]:
    first = [a for a in rows if a.participant in kept and trials[a.trial]["kind"] == "test"]
    score = {(a.participant, trials[a.trial]["condition"]): a.score for a in first}
    sources = {m["sequence"]: m["id"] for m in spec["media"]["items"] if m["kind"] == "source"}
    out = []
    for cid, c in cond.items():
        values = [score[(p, cid)] for p in kept if (p, cid) in score]
        if not values:
            notes.append(f"{c['sequence']} {_label(c)}: no score, no kept participant rated it")
            continue
        if spec["design"] == "acr":
            out.append(
                _condition_row(c, "mos", *scaling.mos_interval(values, confidence=confidence))
            )
            dv = [
                scaling.acr_hr_dv(score[(p, cid)], score[(p, sources[c["sequence"]])])
                for p in kept
                if (p, cid) in score and (p, sources[c["sequence"]]) in score
            ]
            if dv:
                out.append(
                    _condition_row(c, "dmos", *scaling.mos_interval(dv, confidence=confidence))
                )
        else:
            out.append(
                _condition_row(c, "dmos", *scaling.mos_interval(values, confidence=confidence))
            )
    hidden = {}
    for seq, sid in sources.items():
        values = [score[(p, sid)] for p in kept if (p, sid) in score]
        if values:
            hidden[seq] = scaling.mos_interval(values, confidence=confidence)
    return out, hidden


def _acr_side_scores(
    cond: dict,
    matrix: np.ndarray,
    items: list[str],
    observers: list[dict],
    kept: list[str],
    confidence: float,
    notes: list[str],
) -> list[dict]:
    """ACR scores beside the BT.500-screened MOS, from every observer kept by the attention
    trials (``kept``, the rows of ``matrix``): ``mos_plain`` (no BT.500 screening) and
    ``mos_mle`` (:func:`vqabench.studies.subject_model.subject_model_mle`, whose bias and
    inconsistency go into ``observers``)."""
    from vqabench.errors import ConfigError
    from vqabench.studies.subject_model import subject_model_mle

    fitted = (~np.isnan(matrix)).sum(axis=1) >= 2  # a bias and a spread need 2 ratings
    if not fitted.all():
        notes.append(
            "mos_mle: left out of the subject model, fewer than 2 ratings: "
            + ", ".join(p for p, f in zip(kept, fitted, strict=True) if not f)
        )
    rated = ~np.isnan(matrix[fitted]).all(axis=0)
    fit = None
    try:
        fit = subject_model_mle(
            matrix[fitted][:, rated],
            confidence=confidence,
            subjects=[p for p, f in zip(kept, fitted, strict=True) if f],
        )
    except ConfigError as err:
        notes.append(f"mos_mle: the subject model (SUREAL) has no estimate here, scores NaN: {err}")
    if fit is not None:
        by_pid = {o["participant"]: o for o in observers}
        for i, pid in enumerate(p for p, f in zip(kept, fitted, strict=True) if f):
            by_pid[pid].update(
                mle_bias=float(fit.bias[i]),
                mle_bias_lo=float(fit.bias_lo[i]),
                mle_bias_hi=float(fit.bias_hi[i]),
                mle_inconsistency=float(fit.inconsistency[i]),
                mle_inconsistency_lo=float(fit.inconsistency_lo[i]),
                mle_inconsistency_hi=float(fit.inconsistency_hi[i]),
            )
    column = {cid: k for k, cid in enumerate(np.asarray(items)[rated])}
    out = []
    for cid, c in cond.items():
        values = matrix[:, items.index(cid)] if cid in items else np.array([math.nan])
        if np.isnan(values).all():
            continue
        out.append(
            _condition_row(
                c,
                "mos_plain",
                *scaling.mos_interval(values[~np.isnan(values)], confidence=confidence),
            )
        )
        k = column.get(cid)
        est = (
            (fit.quality[k], fit.quality_lo[k], fit.quality_hi[k])
            if fit and k is not None
            else (math.nan,) * 3
        )
        n = int((~np.isnan(matrix[fitted, items.index(cid)])).sum())
        out.append(_condition_row(c, "mos_mle", *map(float, est), n))
    return out


def _pwcmp_outliers(
    trials: dict,
    cond: dict,
    rows: list,
    observers: list[dict],
    kept: list[str],
    neutral: str,
    prior: float,
) -> None:
    """Score every kept 2AFC observer by :func:`scaling.observer_outliers` (into
    ``observers``)."""
    per_seq = _sequence_matrices(trials, cond, rows, kept, neutral)
    per_observer = [[mats[k] for _, mats, _ in per_seq.values()] for k in range(len(kept))]
    scores = scaling.observer_outliers(per_observer, prior=prior)
    by_pid = {o["participant"]: o for o in observers}
    for k, pid in enumerate(kept):
        by_pid[pid].update(
            outlier_loglik=float(scores.log_likelihood[k]),
            outlier_distance=float(scores.distance[k]),
            outlier=bool(scores.outlier[k]),
        )


def analyze_answers(
    spec: dict,
    rows: list,
    *,
    neutral: str = "half",
    resamples: int = 1000,
    method: str = "thurstone",
    prior: float = 1.0,
    alpha: float = 0.01,
    confidence: float = 0.95,
    seed: int = 0,
    max_attention_failures: int = 0,
    max_timing_failures: int = 0,
    exclude_outliers: bool = False,
) -> tuple[StudyAnalysis, dict]:
    """Analyse answers (:class:`vqabench.studies.db.Answer` rows) of the study ``spec``.

    Args: see :func:`analyze_study`.

    Returns:
        (StudyAnalysis, extra) where extra holds the notes and the hidden-reference MOS
        (ACR/DCR).
    """
    if neutral not in scaling.NEUTRAL:
        raise invalid("neutral", neutral, " | ".join(scaling.NEUTRAL))
    if method not in SCALINGS:
        raise invalid("scaling", method, " | ".join(SCALINGS))
    if not prior >= 0:
        raise invalid("prior", prior, "a number of pseudo-answers >= 0")
    if not alpha >= 0:
        raise invalid("alpha", alpha, "a number >= 0")
    for name, value in (
        ("max_attention_failures", max_attention_failures),
        ("max_timing_failures", max_timing_failures),
    ):
        if int(value) != value or value < 0:
            raise invalid(name, value, "an integer >= 0")
    trials = {t["id"]: t for t in spec["trials"]}
    cond = {c["id"]: c for c in spec["conditions"]}
    rows = [a for a in rows if a.trial in trials and trials[a.trial]["kind"] != "training"]
    pids = sorted({a.participant for a in rows})
    observers = []
    for pid in pids:
        mine = [a for a in rows if a.participant == pid]
        att = [a for a in mine if trials[a.trial]["kind"] == "attention"]
        failed = sum(_attention_failed(spec, trials[a.trial], a) for a in att)
        timed, late, unfetched, fast = _timing(spec, trials, mine)
        reasons = []
        if late > max_timing_failures:
            reasons.append(
                f"failed the server's timing on {late} of {timed} answers "
                f"(videos not fetched: {unfetched}; faster than the minimum "
                f"viewing time: {fast})"
            )
        if failed > max_attention_failures:
            reasons.append(f"failed {failed} of {len(att)} attention trials")
        observers.append(
            {
                "participant": pid,
                "answers": len(mine),
                "simulated": sum(a.simulated for a in mine),
                "attention_total": len(att),
                "attention_failed": failed,
                "repeat_agreement": _repeat_agreement(spec, trials, mine),
                "timing_measured": timed,
                "timing_failed": late,
                "bt500_p": math.nan,
                "bt500_q": math.nan,
                "removed": bool(reasons),
                "reason": "; ".join(reasons),
            }
            | (
                {"outlier_loglik": math.nan, "outlier_distance": math.nan, "outlier": False}
                if spec["design"] == "2afc"
                else {}
            )
            | (dict.fromkeys(_MLE_COLUMNS, math.nan) if spec["design"] == "acr" else {})
        )
    kept = [o["participant"] for o in observers if not o["removed"]]
    extra: dict = {"notes": []}
    side_scores: list[dict] = []
    side_notes: list[str] = []
    if spec["design"] == "2afc" and kept:
        _pwcmp_outliers(
            trials,
            cond,
            rows,
            observers,
            kept,
            neutral,
            prior if method == "thurstone" and prior > 0 else 1.0,
        )
        for o in observers:
            if exclude_outliers and o["outlier"]:
                o["removed"], o["reason"] = (
                    True,
                    (
                        f"pwcmp outlier: log-likelihood {o['outlier_distance']:.2f} IQR below "
                        "the first quartile"
                    ),
                )
        kept = [o["participant"] for o in observers if not o["removed"]]
    if spec["design"] != "2afc" and kept:
        items = sorted(
            {trials[a.trial]["condition"] for a in rows if trials[a.trial]["kind"] == "test"}
        )
        matrix = np.full((len(kept), len(items)), np.nan)
        col = {c: k for k, c in enumerate(items)}
        for a in rows:
            t = trials[a.trial]
            if t["kind"] == "test" and a.participant in kept:
                matrix[kept.index(a.participant), col[t["condition"]]] = a.score
        if spec["design"] == "acr":
            side_scores = _acr_side_scores(
                cond, matrix, items, observers, kept, confidence, side_notes
            )
        screened = {s.participant: s for s in scaling.bt500_screening(matrix, kept)}
        for o in observers:
            s = screened.get(o["participant"])
            if s is not None:
                o["bt500_p"], o["bt500_q"] = s.p, s.q
                if s.rejected:
                    o["removed"], o["reason"] = (
                        True,
                        (f"BT.500 screening: P={s.p}, Q={s.q} of N={s.n} scores"),
                    )
        kept = [o["participant"] for o in observers if not o["removed"]]
    preferences = pooled = None
    if spec["design"] == "2afc":
        kept_rows = [a for a in rows if a.participant in kept]
        preferences = _preferences(spec, trials, cond, kept_rows, neutral, confidence)
        pooled = pooled_preferences(preferences)
        scores = _pair_scores(
            spec,
            trials,
            cond,
            kept_rows,
            kept,
            neutral=neutral,
            method=method,
            resamples=resamples,
            knob_value=prior if method == "thurstone" else alpha,
            confidence=confidence,
            seed=seed,
            notes=extra["notes"],
        )
    else:
        scores, extra["hidden_reference"] = _mos_scores(
            spec, trials, cond, rows, kept, confidence, extra["notes"]
        )
        scores += side_scores
        extra["notes"] += side_notes
    simulated = sum(a.simulated for a in rows)
    if simulated:
        extra["notes"].insert(
            0,
            f"{simulated} of {len(rows)} analysed answers are simulated "
            "(vqabench study simulate), not given by people",
        )
    table = pd.DataFrame(scores, columns=list(SCORE_COLUMNS))
    table["simulated"] = _simulated_counts(
        table, trials, cond, [a for a in rows if a.participant in kept]
    )
    return StudyAnalysis(
        table, pd.DataFrame(observers), preferences, pooled=pooled, notes=list(extra["notes"])
    ), extra


def _side_by_side(scores: pd.DataFrame) -> pd.DataFrame:
    """ACR: one row per condition, ``mos_plain``, ``mos`` (BT.500) and ``mos_mle`` with
    their intervals."""
    key = ["sequence", "codec", "rate_point", "kbps"]
    wide = None
    for metric in ("mos_plain", "mos", "mos_mle"):
        part = scores[scores["metric"] == metric][key + ["value", "lo", "hi"]].rename(
            columns={"value": metric, "lo": f"{metric}_lo", "hi": f"{metric}_hi"}
        )
        wide = part if wide is None else wide.merge(part, on=key, how="outer")
    return wide


def _simulated_counts(table: pd.DataFrame, trials: dict, cond: dict, rows: list) -> list[int]:
    """Per row of ``table``: simulated answers of kept participants to test trials that
    show its condition."""
    count = dict.fromkeys(cond, 0)
    for a in rows:
        t = trials[a.trial]
        if a.simulated and t["kind"] == "test":
            for cid in (t["a"], t["b"]) if "a" in t else (t["condition"],):
                if cid in count:
                    count[cid] += 1
    by_key = {tuple(str(c[k]) for k in SCORE_COLUMNS[:4]): cid for cid, c in cond.items()}
    return [
        count[by_key[tuple(str(v) for v in key)]]
        for key in table[list(SCORE_COLUMNS[:4])].itertuples(index=False)
    ]


def _correlations(
    spec: dict, scores: pd.DataFrame, *, resamples: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
    """Every metric of the study's runs against each study score, per codec and overall."""
    from vqabench.evaluation.correlation import (
        comparison_table,
        correlation_by,
        items_from_results,
    )

    frames = [
        pd.read_csv(Path(r["path"]) / "results.csv", keep_default_na=False, na_values=[""])
        for r in spec["runs"]
        if (Path(r["path"]) / "results.csv").is_file()
    ]
    if not frames or scores.empty:
        return None
    results = pd.concat(frames, ignore_index=True)
    for col in ("sequence", "reference", "codec", "rate_point", "metric", "anchor"):
        results[col] = results[col].astype(str)
    metrics = sorted(
        {f"{m}@{a}" for m, a in zip(results["metric"], results["anchor"], strict=True)}
    )
    tables, compares = [], []
    finite = scores[np.isfinite(scores["value"].to_numpy(dtype=float))]
    for label in sorted(set(finite["metric"])):  # a score that is NaN everywhere: no items
        items = items_from_results(results, metrics, label=finite[finite["metric"] == label])
        tables.append(
            correlation_by(
                items, metrics=metrics, by="codec", fit="logistic4", bootstrap=resamples, seed=seed
            ).assign(label=label)
        )
        if len(metrics) > 1:
            compares.append(
                comparison_table(
                    items, metrics=metrics, by="codec", bootstrap=max(resamples, 200), seed=seed
                ).assign(label=label)
            )
    if not tables:
        return None
    return (
        pd.concat(tables, ignore_index=True),
        pd.concat(compares, ignore_index=True) if compares else None,
    )


def _figures(result: StudyAnalysis, out: Path) -> list[str]:
    """Draw the figures into ``out``; report.md lines linking each, or saying why not."""
    from vqabench.reports.plots import save_png
    from vqabench.studies.figures import figure_skip_reason, preference_figure, scores_figure

    todo = []
    if result.preferences is not None:
        todo.append(
            (
                "preferences.png",
                "preferences",
                result.preferences,
                "preference_a",
                lambda: preference_figure(result.preferences),
            )
        )
    for metric in sorted(set(result.scores["metric"])):
        part = result.scores[result.scores["metric"] == metric]
        todo.append(
            (
                f"scores_{metric}.png",
                f"{metric} against bitrate",
                part,
                "value",
                lambda m=metric: scores_figure(result.scores, metric=m),
            )
        )
    lines = []
    for name, title, table, column, draw in todo:
        why = figure_skip_reason(table, column)
        if why:
            (out / name).unlink(missing_ok=True)  # not a figure of an earlier analysis
            lines += [f"Figure {name} ({title}) not drawn: {why}.", ""]
        else:
            save_png(draw(), out / name)
            lines += [f"![{title}]({name})", ""]
    return lines


def analyze_study(
    study_dir: str | Path,
    *,
    neutral: str = "half",
    resamples: int = 1000,
    method: str = "thurstone",
    prior: float = 1.0,
    alpha: float = 0.01,
    confidence: float = 0.95,
    seed: int = 0,
    max_attention_failures: int = 0,
    max_timing_failures: int = 0,
    figures: bool = True,
    force: bool = False,
    exclude_outliers: bool = False,
) -> StudyAnalysis:
    """Analyse the answers in ``STUDY/answers.sqlite`` and write ``STUDY/analysis/``.

    Args:
        study_dir: the study directory.
        neutral: 2AFC neutral answers counted ``half`` a win for each side, or ``exclude``d.
        resamples: bootstrap resamples of participants (2AFC scaling intervals).
        method: 2AFC scaling, ``thurstone`` (Case V in JOD units, metric ``jod``) or ``bt``
            (Bradley-Terry by choix, metric ``bt``).
        prior: Thurstone: neutral pseudo-answers per compared pair
            (:func:`vqabench.studies.scaling.thurstone_case_v`; 0 = maximum likelihood).
        alpha: Bradley-Terry: choix regularisation (0 = maximum likelihood).
        confidence: coverage of every interval.
        seed: bootstrap seed.
        max_attention_failures: attention failures a participant may have and be kept.
        max_timing_failures: answers a participant may have that fail the server's timing
            and be kept: the answer came before the server served every video of its trial,
            or sooner after the trial page than its minimum viewing time
            (:func:`vqabench.studies.design.min_view_ms`). The client's ``response_ms``
            is kept but not trusted. Answers without server timing (stored outside the web
            app, or before vqabench measured it) are not screened this way.
        figures: also draw the PNG figures (a figure with nothing to draw is skipped, with a
            note in report.md).
        force: join the study's runs even when a run directory now holds a run of another
            config (:mod:`vqabench.studies.runs`); the report and ``notes`` say so.
        exclude_outliers: 2AFC: also remove the observers that pwcmp's outlier analysis
            lists (:func:`vqabench.studies.scaling.observer_outliers`); by default they are
            only listed.

    Raises:
        DatasetError: no study or no answers.
        ConfigError: a run of the study now holds another config and ``force`` is False.
    """
    from vqabench.reports.tables import to_markdown, write_csv, write_text
    from vqabench.studies.runs import check_study_runs

    study_dir = Path(study_dir)
    spec = load_spec(study_dir)
    forced = check_study_runs(spec, force=force)
    if not (study_dir / DB_NAME).is_file():
        raise DatasetError(
            f"study={str(study_dir)!r} has no answers yet ({DB_NAME} missing); "
            "serve it with `vqabench study serve` first"
        )
    db = open_db(study_dir / DB_NAME)
    try:
        rows = answers(db)
    finally:
        db.close()
    if not rows:
        raise DatasetError(f"study={str(study_dir)!r} has no answers yet")
    result, extra = analyze_answers(
        spec,
        rows,
        neutral=neutral,
        resamples=resamples,
        method=method,
        prior=prior,
        alpha=alpha,
        confidence=confidence,
        seed=seed,
        max_attention_failures=max_attention_failures,
        max_timing_failures=max_timing_failures,
        exclude_outliers=exclude_outliers,
    )
    out = study_dir / "analysis"
    result.out_dir = out
    result.notes[:0] = forced
    write_csv(result.scores, out / "scores.csv")
    write_csv(result.observers, out / "observers.csv")
    if result.preferences is not None:
        write_csv(result.preferences, out / "preferences.csv")
    pct = round(confidence * 100)
    lines = [
        f"# {spec['title']}: analysis",
        "",
        f"Design **{spec['design']}**, study {spec['study_id']}, "
        f"{len(result.observers)} participants, "
        f"{int(result.observers['removed'].sum()) if len(result.observers) else 0} removed "
        f"by screening, {len(rows)} answers"
        + (
            f", **{sum(a.simulated for a in rows)} of {len(rows)} answers simulated** "
            "(`vqabench study simulate`: observers following a metric, not people)"
            if any(a.simulated for a in rows)
            else ""
        )
        + ".",
        "",
    ]
    lines += [f"**{note}**" for note in forced] + [""] * bool(forced)
    if spec["design"] == "2afc":
        how = "counted half a win for each side" if neutral == "half" else "excluded"
        model = (
            f"Thurstone Case V in JOD units (1 JOD = 75 % preference, as pwcmp), maximum "
            f"a posteriori with a prior of {prior:g} neutral answer(s) per compared pair "
            "(half a win for each side; it keeps unanimous pairs finite)"
            if method == "thurstone"
            else f"Bradley-Terry log-strengths by choix.ilsr_pairwise_dense (alpha={alpha})"
        )
        knob = "prior" if method == "thurstone" else "alpha"
        lines += [
            f"Neutral answers: {how}. Preference intervals: Wilson score, {pct} %. "
            f"Scaling: {model}, mean 0 per sequence, percentile intervals over "
            f"{resamples} bootstrap resamples of participants (seed {seed}). Where a "
            "condition never wins (or never loses) its pairs, maximum likelihood has no "
            f"finite answer and the scores of that sequence are set by the {knob}: the "
            "notes under Scores name such sequences.",
            "",
        ]
        listed = (
            result.observers[result.observers["outlier"]]
            if "outlier" in result.observers
            else result.observers.iloc[:0]
        )
        screen_prior = prior if method == "thurstone" and prior > 0 else 1.0
        lines += [
            "Outlier observers (pwcmp, Perez-Ortiz & Mantiuk 2017 section 9): each "
            "observer's answers scored by their mean log-likelihood per answer under "
            "the Thurstone scale of all the other observers (prior "
            f"{screen_prior:g}), `outlier_distance` = (Q1 - L) / IQR below the first "
            "quartile; listed beyond 1.5: "
            + (
                ", ".join(
                    f"{r.participant} ({r.outlier_distance:.2f})" for r in listed.itertuples()
                )
                or "none"
            )
            + (
                " (removed, --exclude-outliers)."
                if exclude_outliers
                else " (kept; --exclude-outliers removes them)."
            ),
            "",
        ]
    else:
        lines += [
            f"MOS with Student-t {pct} % intervals; observers screened by attention "
            f"trials, then ITU-R BT.500-14 A1-2.3.1."
            + (
                " DMOS by ACR-HR (P.910): DV = V - V(hidden reference) + 5, not clipped."
                if spec["design"] == "acr"
                else " DCR scores are DMOS (P.910)."
            ),
            "",
        ]
        if spec["design"] == "acr":
            lines += [
                "Beside `mos` (after BT.500 screening): `mos_plain`, the MOS of every "
                "observer kept by the attention trials (no BT.500 screening), and "
                "`mos_mle`, the true quality of the SUREAL subject model (rating = true "
                "quality + observer bias + observer inconsistency x noise, maximum "
                "likelihood over the same observers, biases averaging 0; Li & Bampis "
                f"2017, Li et al. 2020), with {pct} % intervals from the Fisher "
                "information holding the other parameters at their estimates (a little "
                "narrow for few observers). Observers' bias and inconsistency: "
                "`mle_*` columns.",
                "",
            ]
    timed, analysed = (
        (int(result.observers[c].sum()) for c in ("timing_measured", "answers"))
        if len(result.observers)
        else (0, 0)
    )
    lines += [
        "Server timing: an answer fails it when it came before the server had served "
        "every video of its trial, or sooner after the trial page was served than the "
        "minimum viewing time ("
        + (
            f"{spec['min_view_s']:g} s"
            if spec.get("min_view_s") is not None
            else "the trial's playing time"
        )
        + f"); participants with more than {max_timing_failures} such answers are "
        f"removed. {timed} of {analysed} analysed answers were timed by the server"
        + (
            ""
            if timed == analysed
            else " (the others were simulated, stored outside "
            "the web app or before vqabench timed answers, and are not screened by "
            "timing)"
        )
        + ".",
        "",
    ]
    removed = result.observers[result.observers["removed"]] if len(result.observers) else []
    if len(removed):
        lines += (
            ["Removed participants:", ""]
            + [f"- {r.participant}: {r.reason}" for r in removed.itertuples()]
            + [""]
        )
    shown = result.observers.assign(
        removed=["yes" if r else "no" for r in result.observers.get("removed", [])]
    )
    lines += ["## Observers", "", to_markdown(shown, decimals=2)]
    if result.preferences is not None and len(result.preferences):
        lines += ["## Preferences", "", to_markdown(result.preferences, decimals=3)]
    if result.pooled is not None and len(result.pooled):
        write_csv(result.pooled, out / "pooled.csv")
        lines += [
            "## Pooled per codec pair",
            "",
            "Answers over all sequences, rate points and kept participants: wins of "
            "codec_a, neutral, wins of codec_b (raw counts; percent of answers). Pairs "
            "within one codec (rate ladder) left out.",
            "",
            to_markdown(result.pooled, decimals=1),
        ]
    lines += [
        "## Scores",
        "",
        to_markdown(
            result.scores[
                ["sequence", "codec", "rate_point", "kbps", "metric", "value", "lo", "hi", "n"]
            ],
            decimals=3,
        ),
    ]
    lines += [f"- {note}" for note in extra["notes"]] + [""] * bool(extra["notes"])
    if spec["design"] == "acr" and len(result.scores):
        lines += [
            "### MOS, screened MOS and subject model side by side",
            "",
            to_markdown(_side_by_side(result.scores), decimals=3),
        ]
    hidden = extra.get("hidden_reference")
    if hidden:
        lines += [
            "Hidden reference MOS: "
            + ", ".join(
                f"{seq} {m:.2f} [{lo:.2f}, {hi:.2f}] (n={n})"
                for seq, (m, lo, hi, n) in sorted(hidden.items())
            ),
            "",
        ]
    correlations = _correlations(spec, result.scores, resamples=resamples, seed=seed)
    if correlations is None:
        lines += [
            "No correlations with the runs' metrics: no run results.csv on disk, or no "
            "finite scores.",
            "",
        ]
    else:
        table, compare = correlations
        write_csv(table, out / "correlation.csv")
        lines += [
            "## Metrics against these scores",
            "",
            "SROCC, KROCC on raw values; PLCC, RMSE after the 4-parameter logistic "
            f"mapping; {resamples} bootstrap resamples of items. Same table: `vqabench "
            "correlate RUN --label mos=STUDY/analysis/scores.csv --metrics ...`.",
            "",
            to_markdown(table, decimals=3),
        ]
        if spec["design"] == "2afc":
            lines += [
                "Scaled scores are on one scale within a sequence only (mean 0 "
                "per sequence): across sequences these correlations assume every "
                "sequence has the same mean quality; `vqabench correlate RUN --by "
                "sequence` gives them per sequence.",
                "",
            ]
        if compare is not None and len(compare):
            write_csv(compare, out / "correlation_comparisons.csv")
            lines += [
                "SROCC differences between metrics on the same items (Williams' test "
                "and paired bootstrap):",
                "",
                to_markdown(compare, decimals=3),
            ]
    if figures:
        lines += _figures(result, out)
    write_text(out / "report.md", "\n".join(lines) + "\n")
    return result
