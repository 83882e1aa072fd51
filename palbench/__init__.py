"""palbench: simulation and benchmark harness for active-learning strategies."""

__version__ = "0.2.0"
