"""Moved to palbench.reports.stats (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.reports.stats")
