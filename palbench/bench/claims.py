"""Moved to palbench.reports.claims (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.reports.claims")
