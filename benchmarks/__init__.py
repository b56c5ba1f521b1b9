"""Benchmarks of Headwater against hand-written baselines: `python -m benchmarks.checks`."""
