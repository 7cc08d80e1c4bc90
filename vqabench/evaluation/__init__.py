"""Evaluation: BD-rate, per-sequence aggregation, metric correlation, rate–quality models.

Pure numpy/scipy/pandas functions; :mod:`vqabench.reports` and the CLI build on them.
"""

from vqabench.evaluation.aggregate import (
    OVERALL,
    add_weighted_yuv,
    fold_references,
    load_results,
    metric_higher_is_better,
    per_sequence_bd_rate,
    summarize_bd_rate,
    time_ratios,
)
from vqabench.evaluation.bdrate import (
    METHODS,
    BDRateError,
    BDResult,
    BDWarning,
    bd_quality,
    bd_quality_result,
    bd_rate,
    bd_rate_result,
)
from vqabench.evaluation.correlation import (
    ComparisonResult,
    CorrelationResult,
    compare_metrics,
    correlation,
    correlation_table,
    fit_logistic,
    williams_test,
)
from vqabench.evaluation.rq import RQFit, fit_rq, fit_rq_table, rate_deviation

__all__ = [
    "METHODS",
    "OVERALL",
    "BDRateError",
    "BDResult",
    "BDWarning",
    "ComparisonResult",
    "CorrelationResult",
    "RQFit",
    "add_weighted_yuv",
    "fold_references",
    "bd_quality",
    "bd_quality_result",
    "bd_rate",
    "bd_rate_result",
    "compare_metrics",
    "correlation",
    "correlation_table",
    "fit_logistic",
    "fit_rq",
    "fit_rq_table",
    "load_results",
    "metric_higher_is_better",
    "per_sequence_bd_rate",
    "rate_deviation",
    "summarize_bd_rate",
    "time_ratios",
    "williams_test",
]
