"""Benchmarks: figures printed, never asserted (timing is noisy on shared machines)."""
