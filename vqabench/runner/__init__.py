"""Run orchestration: jobs, the content-addressed store and executors."""

from vqabench.runner.run import RunSummary, run

__all__ = ["run", "RunSummary"]
