"""Evaluation: BD-rate, per-sequence aggregation, metric correlation, rate–quality models.

Pure numpy/scipy/pandas functions; :mod:`vqabench.reports` and the CLI build on them.
"""

from vqabench.registry import lazy_exports

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

__getattr__ = lazy_exports(
    __name__,
    {
        "OVERALL": "aggregate",
        "add_weighted_yuv": "aggregate",
        "fold_references": "aggregate",
        "load_results": "aggregate",
        "metric_higher_is_better": "aggregate",
        "per_sequence_bd_rate": "aggregate",
        "summarize_bd_rate": "aggregate",
        "time_ratios": "aggregate",
        "METHODS": "bdrate",
        "BDRateError": "bdrate",
        "BDResult": "bdrate",
        "BDWarning": "bdrate",
        "bd_quality": "bdrate",
        "bd_quality_result": "bdrate",
        "bd_rate": "bdrate",
        "bd_rate_result": "bdrate",
        "ComparisonResult": "correlation",
        "CorrelationResult": "correlation",
        "compare_metrics": "correlation",
        "correlation": "correlation",
        "correlation_table": "correlation",
        "fit_logistic": "correlation",
        "williams_test": "correlation",
        "RQFit": "rq",
        "fit_rq": "rq",
        "fit_rq_table": "rq",
        "rate_deviation": "rq",
    },
)
