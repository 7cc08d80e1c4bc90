"""``vqabench study analyze``: screening, preferences, scaling, MOS; files in STUDY/analysis.

Written (atomically) to ``STUDY/analysis/``:

- ``scores.csv``: one row per (sequence, reference, codec, rate point) and score, in the tidy
  layout of results.csv (same key and rate columns, ``metric``, ``value``, ``anchor`` =
  ``source``) plus ``lo``, ``hi`` (interval) and ``n``. Metrics: ``bt`` (2AFC,
  Bradley-Terry log-strength, mean 0 per sequence), ``mos`` and ``dmos`` (ACR; DMOS by ACR-HR),
  ``dmos`` (DCR, the mean impairment score).
- ``preferences.csv`` (2AFC): per compared pair, wins, neutral answers, preference for ``a``
  with its Wilson interval.
- ``observers.csv``: per participant, answers, attention failures, repeat agreement, BT.500
  counts (ACR/DCR) and whether and why they were removed.
- ``correlation.csv`` (and ``correlation_comparisons.csv``): every metric of the study's
  runs against each score, overall and per codec (:mod:`vqabench.evaluation.correlation`).
- ``report.md`` with figures (preference bars with intervals; scores against bitrate) and
  the correlation tables.

Screening: a participant who fails more than ``max_attention_failures`` attention trials is
removed (2AFC: not choosing the undegraded video, neutral included; ACR/DCR: rating the
degraded video above 2); in ACR/DCR the BT.500 procedure then removes outlying observers.
Training trials are never analysed; repeated trials only measure consistency
(``repeat_agreement``), the first presentation is the one analysed. A 2AFC sequence whose
answers do not connect all its conditions is not scaled (NaN, said in the report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vqabench.errors import DatasetError, invalid
from vqabench.studies import scaling
from vqabench.studies.db import DB_NAME, answers, open_db
from vqabench.studies.design import load_spec

__all__ = ["SCORE_COLUMNS", "StudyAnalysis", "analyze_study", "analyze_answers"]

SCORE_COLUMNS = ("sequence", "reference", "codec", "rate_point", "bits", "bpp", "kbps", "enc_s",
                 "dec_s", "metric", "value", "anchor", "bitstream", "group", "coded_pix_fmt",
                 "native_rate_point", "lo", "hi", "n")
_COND_COLUMNS = SCORE_COLUMNS[:9] + ("bitstream", "group", "coded_pix_fmt", "native_rate_point")


@dataclass
class StudyAnalysis:
    """Tables of an analysed study (also written under ``STUDY/analysis``)."""

    scores: pd.DataFrame
    observers: pd.DataFrame
    preferences: pd.DataFrame | None
    out_dir: Path | None = None


def _attention_failed(spec: dict, trial: dict, answer) -> bool:
    if spec["design"] == "2afc":
        return answer.choice != "a"  # "a" is the undegraded source
    return answer.score > 2


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
    return {**row, "metric": metric, "value": value, "anchor": "source", "lo": lo, "hi": hi,
            "n": n}


def _preferences(spec: dict, trials: dict, cond: dict, rows: list, neutral: str,
                 confidence: float) -> pd.DataFrame:
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
        out.append({"sequence": t["sequence"], "reference": a["reference"],
                    "a_codec": a["codec"], "a_rate_point": a["rate_point"], "a_kbps": a["kbps"],
                    "b_codec": b["codec"], "b_rate_point": b["rate_point"], "b_kbps": b["kbps"],
                    "answers": len(got), "a_wins": wa, "b_wins": wb, "neutral": nn,
                    "preference_a": k / n if n else math.nan, "lo": lo, "hi": hi})
    return pd.DataFrame(out)


def _connected(wins: np.ndarray) -> bool:
    from scipy.sparse.csgraph import connected_components

    return connected_components((wins + wins.T) > 0, directed=False)[0] == 1


def _bt_scores(spec: dict, trials: dict, cond: dict, rows: list, kept: list[str], *,
               neutral: str, resamples: int, alpha: float, confidence: float, seed: int,
               notes: list[str]) -> list[dict]:
    out = []
    for seq in sorted({c["sequence"] for c in cond.values()}):
        ids = sorted((c["id"] for c in cond.values() if c["sequence"] == seq),
                     key=lambda i: int(i[1:]))
        index = {cid: k for k, cid in enumerate(ids)}
        mats, counts = [], np.zeros(len(ids), dtype=int)
        for pid in kept:
            outcomes = [(index[trials[a.trial]["a"]], index[trials[a.trial]["b"]], a.choice)
                        for a in rows if a.participant == pid
                        and trials[a.trial]["kind"] == "test"
                        and trials[a.trial]["sequence"] == seq]
            for i, j, _ in outcomes:
                counts[i] += 1
                counts[j] += 1
            mats.append(scaling.comparison_matrix(outcomes, len(ids), neutral=neutral))
        if not mats or counts.sum() == 0:
            continue
        if not _connected(np.sum(mats, axis=0)):
            notes.append(f"{seq}: not scaled, the answers do not connect all its conditions "
                         "(scores NaN)")
            est = lo = hi = np.full(len(ids), math.nan)
        else:
                est, lo, hi = scaling.bootstrap_bradley_terry(
                mats, resamples=resamples, alpha=alpha, confidence=confidence, seed=seed)
        for cid in ids:
            k = index[cid]
            out.append(_condition_row(cond[cid], "bt", float(est[k]), float(lo[k]),
                                      float(hi[k]), int(counts[k])))
    return out


def _mos_scores(spec: dict, trials: dict, cond: dict, rows: list, kept: list[str],
                confidence: float) -> tuple[list[dict], dict[str, tuple]]:
    first = [a for a in rows if a.participant in kept and trials[a.trial]["kind"] == "test"]
    score = {(a.participant, trials[a.trial]["condition"]): a.score for a in first}
    sources = {m["sequence"]: m["id"] for m in spec["media"]["items"] if m["kind"] == "source"}
    out = []
    for cid, c in cond.items():
        values = [score[(p, cid)] for p in kept if (p, cid) in score]
        if not values:
            continue
        if spec["design"] == "acr":
            out.append(_condition_row(c, "mos", *scaling.mos_interval(values,
                                                                      confidence=confidence)))
            dv = [scaling.acr_hr_dv(score[(p, cid)], score[(p, sources[c["sequence"]])])
                  for p in kept if (p, cid) in score and (p, sources[c["sequence"]]) in score]
            if dv:
                out.append(_condition_row(c, "dmos", *scaling.mos_interval(
                    dv, confidence=confidence)))
        else:
            out.append(_condition_row(c, "dmos", *scaling.mos_interval(values,
                                                                       confidence=confidence)))
    hidden = {}
    for seq, sid in sources.items():
        values = [score[(p, sid)] for p in kept if (p, sid) in score]
        if values:
            hidden[seq] = scaling.mos_interval(values, confidence=confidence)
    return out, hidden


def analyze_answers(spec: dict, rows: list, *, neutral: str = "half", resamples: int = 1000,
                    alpha: float = 0.01, confidence: float = 0.95, seed: int = 0,
                    max_attention_failures: int = 0) -> tuple[StudyAnalysis, dict]:
    """Analyse answers (:class:`vqabench.studies.db.Answer` rows) of the study ``spec``.

    Returns:
        (StudyAnalysis, extra) where extra holds the hidden-reference MOS (ACR/DCR).
    """
    if neutral not in scaling.NEUTRAL:
        raise invalid("neutral", neutral, " | ".join(scaling.NEUTRAL))
    if int(max_attention_failures) != max_attention_failures or max_attention_failures < 0:
        raise invalid("max_attention_failures", max_attention_failures, "an integer >= 0")
    trials = {t["id"]: t for t in spec["trials"]}
    cond = {c["id"]: c for c in spec["conditions"]}
    rows = [a for a in rows if a.trial in trials and trials[a.trial]["kind"] != "training"]
    pids = sorted({a.participant for a in rows})
    observers = []
    for pid in pids:
        mine = [a for a in rows if a.participant == pid]
        att = [a for a in mine if trials[a.trial]["kind"] == "attention"]
        failed = sum(_attention_failed(spec, trials[a.trial], a) for a in att)
        observers.append({"participant": pid, "answers": len(mine), "attention_total": len(att),
                          "attention_failed": failed,
                          "repeat_agreement": _repeat_agreement(spec, trials, mine),
                          "bt500_p": math.nan, "bt500_q": math.nan, "removed": False,
                          "reason": ""})
    for o in observers:
        if o["attention_failed"] > max_attention_failures:
            o["removed"], o["reason"] = True, (f"failed {o['attention_failed']} of "
                                               f"{o['attention_total']} attention trials")
    kept = [o["participant"] for o in observers if not o["removed"]]
    if spec["design"] != "2afc" and kept:
        items = sorted({trials[a.trial]["condition"] for a in rows
                        if trials[a.trial]["kind"] == "test"})
        matrix = np.full((len(kept), len(items)), np.nan)
        col = {c: k for k, c in enumerate(items)}
        for a in rows:
            t = trials[a.trial]
            if t["kind"] == "test" and a.participant in kept:
                matrix[kept.index(a.participant), col[t["condition"]]] = a.score
        screened = {s.participant: s for s in scaling.bt500_screening(matrix, kept)}
        for o in observers:
            s = screened.get(o["participant"])
            if s is not None:
                o["bt500_p"], o["bt500_q"] = s.p, s.q
                if s.rejected:
                    o["removed"], o["reason"] = True, (f"BT.500 screening: P={s.p}, Q={s.q} of "
                                                       f"N={s.n} scores")
        kept = [o["participant"] for o in observers if not o["removed"]]
    extra: dict = {}
    preferences = None
    if spec["design"] == "2afc":
        kept_rows = [a for a in rows if a.participant in kept]
        preferences = _preferences(spec, trials, cond, kept_rows, neutral, confidence)
        extra["notes"] = []
        scores = _bt_scores(spec, trials, cond, kept_rows, kept, neutral=neutral,
                            resamples=resamples, alpha=alpha, confidence=confidence, seed=seed,
                            notes=extra["notes"])
    else:
        scores, extra["hidden_reference"] = _mos_scores(spec, trials, cond, rows, kept,
                                                        confidence)
    table = pd.DataFrame(scores, columns=list(SCORE_COLUMNS))
    return StudyAnalysis(table, pd.DataFrame(observers), preferences), extra


def _correlations(spec: dict, scores: pd.DataFrame, *, resamples: int, seed: int
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
    """Every metric of the study's runs against each study score, per codec and overall."""
    from vqabench.evaluation.correlation import (
        comparison_table,
        correlation_by,
        items_from_results,
    )

    frames = [pd.read_csv(Path(r["path"]) / "results.csv", keep_default_na=False,
                          na_values=[""]) for r in spec["runs"]
              if (Path(r["path"]) / "results.csv").is_file()]
    if not frames or scores.empty:
        return None
    results = pd.concat(frames, ignore_index=True)
    for col in ("sequence", "reference", "codec", "rate_point", "metric", "anchor"):
        results[col] = results[col].astype(str)
    metrics = sorted({f"{m}@{a}" for m, a in zip(results["metric"], results["anchor"],
                                                  strict=True)})
    tables, compares = [], []
    for label in sorted(set(scores["metric"])):
        items = items_from_results(results, metrics, label=scores[scores["metric"] == label])
        tables.append(correlation_by(items, metrics=metrics, by="codec", fit="logistic4",
                                     bootstrap=resamples, seed=seed).assign(label=label))
        if len(metrics) > 1:
            compares.append(comparison_table(items, metrics=metrics, by="codec",
                                             bootstrap=max(resamples, 200), seed=seed)
                            .assign(label=label))
    return (pd.concat(tables, ignore_index=True),
            pd.concat(compares, ignore_index=True) if compares else None)


def analyze_study(study_dir: str | Path, *, neutral: str = "half", resamples: int = 1000,
                  alpha: float = 0.01, confidence: float = 0.95, seed: int = 0,
                  max_attention_failures: int = 0, figures: bool = True) -> StudyAnalysis:
    """Analyse the answers in ``STUDY/answers.sqlite`` and write ``STUDY/analysis/``.

    Args:
        study_dir: the study directory.
        neutral: 2AFC neutral answers counted ``half`` a win for each side, or ``exclude``d.
        resamples: bootstrap resamples of participants (2AFC scaling intervals).
        alpha: choix regularisation of the Bradley-Terry fit (0 = maximum likelihood).
        confidence: coverage of every interval.
        seed: bootstrap seed.
        max_attention_failures: attention failures a participant may have and be kept.
        figures: also draw the PNG figures.

    Raises:
        DatasetError: no study or no answers.
    """
    from vqabench.reports.tables import to_markdown, write_csv, write_text

    study_dir = Path(study_dir)
    spec = load_spec(study_dir)
    if not (study_dir / DB_NAME).is_file():
        raise DatasetError(f"study={str(study_dir)!r} has no answers yet ({DB_NAME} missing); "
                           "serve it with `vqabench study serve` first")
    db = open_db(study_dir / DB_NAME)
    try:
        rows = answers(db)
    finally:
        db.close()
    if not rows:
        raise DatasetError(f"study={str(study_dir)!r} has no answers yet")
    result, extra = analyze_answers(spec, rows, neutral=neutral, resamples=resamples,
                                    alpha=alpha, confidence=confidence, seed=seed,
                                    max_attention_failures=max_attention_failures)
    out = study_dir / "analysis"
    result.out_dir = out
    write_csv(result.scores, out / "scores.csv")
    write_csv(result.observers, out / "observers.csv")
    if result.preferences is not None:
        write_csv(result.preferences, out / "preferences.csv")
    pct = round(confidence * 100)
    lines = [f"# {spec['title']}: analysis", "",
             f"Design **{spec['design']}**, study {spec['study_id']}, "
             f"{len(result.observers)} participants, "
             f"{int(result.observers['removed'].sum()) if len(result.observers) else 0} removed "
             f"by screening, {len(rows)} answers.", ""]
    if spec["design"] == "2afc":
        how = "counted half a win for each side" if neutral == "half" else "excluded"
        lines += [f"Neutral answers: {how}. Preference intervals: Wilson score, {pct} %. "
                  f"Scaling: Bradley-Terry log-strengths by choix.ilsr_pairwise_dense "
                  f"(alpha={alpha}), mean 0 per sequence, percentile intervals over "
                  f"{resamples} bootstrap resamples of participants (seed {seed}).", ""]
    else:
        lines += [f"MOS with Student-t {pct} % intervals; observers screened by attention "
                  f"trials, then ITU-R BT.500-14 A1-2.3.1."
                  + (" DMOS by ACR-HR (P.910): DV = V - V(hidden reference) + 5, not clipped."
                     if spec["design"] == "acr" else " DCR scores are DMOS (P.910)."), ""]
    shown = result.observers.assign(removed=["yes" if r else "no"
                                             for r in result.observers.get("removed", [])])
    lines += ["## Observers", "", to_markdown(shown, decimals=2)]
    if result.preferences is not None and len(result.preferences):
        lines += ["## Preferences", "", to_markdown(result.preferences, decimals=3)]
    lines += ["## Scores", "", to_markdown(result.scores[["sequence", "codec", "rate_point",
                                                          "kbps", "metric", "value", "lo",
                                                          "hi", "n"]], decimals=3)]
    lines += [f"- {note}" for note in extra.get("notes", [])] + [""] * bool(extra.get("notes"))
    hidden = extra.get("hidden_reference")
    if hidden:
        lines += ["Hidden reference MOS: " + ", ".join(
            f"{seq} {m:.2f} [{lo:.2f}, {hi:.2f}] (n={n})" for seq, (m, lo, hi, n)
            in sorted(hidden.items())), ""]
    correlations = _correlations(spec, result.scores, resamples=resamples, seed=seed)
    if correlations is not None:
        table, compare = correlations
        write_csv(table, out / "correlation.csv")
        lines += ["## Metrics against these scores", "",
                  "SROCC, KROCC on raw values; PLCC, RMSE after the 4-parameter logistic "
                  f"mapping; {resamples} bootstrap resamples of items. Same table: `vqabench "
                  "correlate RUN --label mos=STUDY/analysis/scores.csv --metrics ...`.", "",
                  to_markdown(table, decimals=3)]
        if spec["design"] == "2afc":
            lines += ["Bradley-Terry scores are on one scale within a sequence only (mean 0 "
                      "per sequence): across sequences these correlations assume every "
                      "sequence has the same mean quality; `vqabench correlate RUN --by "
                      "sequence` gives them per sequence.", ""]
        if compare is not None and len(compare):
            write_csv(compare, out / "correlation_comparisons.csv")
            lines += ["SROCC differences between metrics on the same items (Williams' test "
                      "and paired bootstrap):", "", to_markdown(compare, decimals=3)]
    if figures:
        from vqabench.reports.plots import save_png
        from vqabench.studies.figures import preference_figure, scores_figure

        if result.preferences is not None and len(result.preferences):
            save_png(preference_figure(result.preferences), out / "preferences.png")
            lines += ["![preferences](preferences.png)", ""]
        for metric in sorted(set(result.scores["metric"])):
            name = f"scores_{metric}.png"
            save_png(scores_figure(result.scores, metric=metric), out / name)
            lines += [f"![{metric} against bitrate]({name})", ""]
    write_text(out / "report.md", "\n".join(lines) + "\n")
    return result
