"""Active sampling (ASAP-approx style) against the full design, in simulation.

Known true scores (JOD) for ``N`` conditions; simulated observers answer 2AFC trials with
``P(i preferred to j) = Phi((q_i - q_j) / JOD_SIGMA)`` (Thurstone Case V, the model the
analysis scales with; forced choice, no neutral answers). The truth is a rate ladder: steps of
0.5-2 JOD between neighbours. Every ``N`` comparisons the answers are scaled and the scale
error is the RMSE against the truth, both centred to mean 0 (offsets aligned), averaged over
repetitions. Two scalings of the same answers:

- ``rmse_jod`` (the headline): the Thurstone posterior mean with a weak independent prior
  ``N(0, 3**2)`` per score (:func:`vqabench.studies.sampling.posterior`), nearly unbiased.
- ``rmse_jod_prior1``: :func:`vqabench.studies.scaling.thurstone_case_v` with the default of
  ``vqabench study analyze`` (one neutral pseudo-answer per *compared* pair). That prior pulls
  the far pairs of the full design together, which the active design rarely compares, so
  part of the gap there is the prior's bias, not information: quoted for reference only.

- ``fixed``: the full design, every pair once per round, rounds in random order.
- ``active``: each comparison is the pair of :func:`vqabench.studies.sampling.next_pair`
  given every answer so far.

Writes ``docs/studies/active_sampling.json`` and the figure ``docs/studies/active_sampling.png``
(scale error against comparisons). "Comparisons to reach": the first count from which the mean
error of active sampling stays at or below the full design's final error.

Run: ``python benchmarks/bench_active_sampling.py`` (seeded; about half a minute).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import special

from vqabench.studies.sampling import next_pair, posterior
from vqabench.studies.scaling import JOD_SIGMA, thurstone_case_v

ROOT = Path(__file__).resolve().parents[1]


def true_scores(n: int, rng: np.random.Generator) -> np.ndarray:
    """A rate ladder's worth of scores: steps of 0.5-2 JOD, centred."""
    q = np.concatenate([[0.0], np.cumsum(rng.uniform(0.5, 2.0, n - 1))])
    return q - q.mean()


def scale_rmse(wins: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """RMSE (JOD) against the truth (both mean 0) of the weak-prior posterior mean and of
    the analysis' prior-1 scale (NaN while the answers do not connect every condition)."""
    mean = posterior(wins)[0]
    try:
        est = thurstone_case_v(wins, prior=1.0)
        prior1 = float(np.sqrt(np.mean((est - truth) ** 2)))
    except Exception:  # answers that do not connect every condition yet
        prior1 = math.nan
    return float(np.sqrt(np.mean((mean - mean.mean() - truth) ** 2))), prior1


def simulate(
    truth: np.ndarray, sampling: str, budget: int, every: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Scale error after every ``every`` comparisons up to ``budget``."""
    n = len(truth)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    names = [(f"c{i}", f"c{j}") for i, j in pairs]
    wins = np.zeros((n, n))
    outcomes: list[tuple[str, str, str]] = []
    queue: list[tuple[int, int]] = []
    errors = []
    for step in range(1, budget + 1):
        if sampling == "fixed":
            if not queue:
                queue = [pairs[k] for k in rng.permutation(len(pairs))]
            i, j = queue.pop()
        else:
            a, b = next_pair(outcomes, names, rng)
            i, j = int(a[1:]), int(b[1:])
        first = rng.random() < special.ndtr((truth[i] - truth[j]) / JOD_SIGMA)
        wins[(i, j) if first else (j, i)] += 1
        outcomes.append((f"c{i}", f"c{j}", "a" if first else "b"))
        if step % every == 0:
            errors.append(scale_rmse(wins, truth))
    return errors


def comparisons_to_reach(counts: list[int], errors: np.ndarray, target: float) -> int | None:
    """The first count from which the error stays at most ``target`` (None: never)."""
    above = np.flatnonzero(~(np.asarray(errors) <= target))  # NaN counts as above
    if len(above) == 0:
        return counts[0]
    return counts[above.max() + 1] if above.max() + 1 < len(counts) else None


def run(n: int = 10, rounds: int = 6, repetitions: int = 12, seed: int = 0) -> dict:
    """Mean scale errors of both samplings; the comparisons active needs to reach the full
    design's final error (``rounds`` times every pair)."""
    budget = rounds * n * (n - 1) // 2
    curves: dict[str, list] = {"fixed": [], "active": []}
    for r in range(repetitions):
        truth = true_scores(n, np.random.default_rng([seed, r]))
        for sampling in curves:
            curves[sampling].append(
                simulate(
                    truth, sampling, budget, n, np.random.default_rng([seed, r, len(sampling)])
                )
            )
    counts = list(range(n, budget + 1, n))
    out: dict = {
        "conditions": n,
        "comparisons": counts,
        "repetitions": repetitions,
        "seed": seed,
        "fixed_comparisons": budget,
    }
    for k, suffix in ((0, ""), (1, "_prior1")):
        mean = {s: np.nanmean(np.array(v)[:, :, k], axis=0) for s, v in curves.items()}
        target = float(mean["fixed"][-1])
        reach = comparisons_to_reach(counts, mean["active"], target)
        out[f"rmse_jod{suffix}"] = {s: [round(float(x), 4) for x in v] for s, v in mean.items()}
        out[f"fixed_final_rmse_jod{suffix}"] = round(target, 4)
        out[f"active_comparisons_to_reach{suffix}"] = reach
        out[f"saving_pct{suffix}"] = None if reach is None else round(100 * (1 - reach / budget), 1)
    return out


def figure(result: dict, path: Path) -> None:
    """Scale error against comparisons, both samplings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.4), dpi=110)
    x = result["comparisons"]
    ax.plot(x, result["rmse_jod"]["fixed"], "o-", color="0.3", label="full design (fixed)")
    ax.plot(x, result["rmse_jod"]["active"], "s-", color="C1", label="active (EIG)")
    ax.plot(
        x,
        result["rmse_jod_prior1"]["fixed"],
        ":",
        color="0.3",
        lw=1,
        label="full design, scaled with prior 1",
    )
    ax.plot(
        x,
        result["rmse_jod_prior1"]["active"],
        ":",
        color="C1",
        lw=1,
        label="active, scaled with prior 1",
    )
    ax.axhline(result["fixed_final_rmse_jod"], color="0.6", lw=0.8, ls="--")
    if result["active_comparisons_to_reach"]:
        ax.axvline(result["active_comparisons_to_reach"], color="C1", lw=0.8, ls=":")
    ax.set_xlabel("comparisons")
    ax.set_ylabel("scale RMSE (JOD)")
    ax.set_title(
        f"{result['conditions']} conditions, mean of {result['repetitions']} seeded "
        f"studies: active reaches the full\ndesign's final error with "
        f"{result['saving_pct']:g} % fewer comparisons (weak-prior scale)",
        fontsize=8,
    )
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> int:
    result = run()
    out = ROOT / "docs" / "studies" / "active_sampling.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    figure(result, ROOT / "docs" / "studies" / "active_sampling.png")
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, dict | list)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
