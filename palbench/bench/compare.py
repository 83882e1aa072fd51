"""Moved to palbench.reports.compare (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.reports.compare")
