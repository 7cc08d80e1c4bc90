"""Subjective studies from runs: design (2AFC, ACR, DCR), a local web app, analysis.

Example:
    >>> from vqabench import studies
    >>> spec = studies.create_study(["runs/mini"], design="2afc", out="study")
    >>> studies.serve("study")            # participants open http://127.0.0.1:8000/
    >>> studies.analyze_study("study")    # scores.csv, report.md, figures
"""

from vqabench.studies.design import DESIGNS, create_study, load_spec, participant_plan

__all__ = [
    "DESIGNS",
    "create_study",
    "load_spec",
    "participant_plan",
    "serve",
    "create_app",
    "analyze_study",
]


def serve(*args, **kwargs):
    """See :func:`vqabench.studies.app.serve` (imports Flask only when called)."""
    from vqabench.studies.app import serve as _serve

    return _serve(*args, **kwargs)


def create_app(*args, **kwargs):
    """See :func:`vqabench.studies.app.create_app`."""
    from vqabench.studies.app import create_app as _create_app

    return _create_app(*args, **kwargs)


def analyze_study(*args, **kwargs):
    """See :func:`vqabench.studies.analyze.analyze_study`."""
    from vqabench.studies.analyze import analyze_study as _analyze

    return _analyze(*args, **kwargs)
