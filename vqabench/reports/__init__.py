"""Reports: BD-rate tables (Markdown, LaTeX booktabs, HTML, CSV), RD plots, leaderboards."""

from vqabench.reports.leaderboard import Leaderboard, build_leaderboard
from vqabench.reports.report import Report, build_report

__all__ = ["Leaderboard", "Report", "build_leaderboard", "build_report"]
