"""Reports: BD-rate tables (Markdown, LaTeX booktabs, HTML, CSV), RD plots, leaderboards."""

from vqabench.registry import lazy_exports

__all__ = ["Leaderboard", "Report", "build_leaderboard", "build_report"]

__getattr__ = lazy_exports(
    __name__,
    {
        "Leaderboard": "leaderboard",
        "build_leaderboard": "leaderboard",
        "Report": "report",
        "build_report": "report",
    },
)
