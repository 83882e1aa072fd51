"""Moved to palbench.graph (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.graph")
