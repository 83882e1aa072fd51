"""Moved to palbench.reports.html (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.reports.html")
