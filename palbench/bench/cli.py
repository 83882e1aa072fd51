"""Moved to palbench.cli (kept for one release)."""

from palbench._moved import alias

alias(__name__, "palbench.cli")
