"""Moved to palbench.reports.ranks (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.reports.ranks")
