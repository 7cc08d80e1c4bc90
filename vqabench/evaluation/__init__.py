"""Evaluation: BD-rate, per-sequence aggregation, metric correlation, rate–quality models.

Pure numpy/scipy/pandas functions; reports and the CLI build on them.
"""

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

__all__ = [
    "METHODS",
    "BDRateError",
    "BDResult",
    "BDWarning",
    "bd_quality",
    "bd_quality_result",
    "bd_rate",
    "bd_rate_result",
]
