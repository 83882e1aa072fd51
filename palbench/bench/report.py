"""Moved to palbench.reports.report (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.reports.report")
