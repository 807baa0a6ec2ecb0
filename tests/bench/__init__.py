"""Benchmark and evaluation scripts (run as modules: ``uv run python -m tests.bench.<name>``); they report, tests assert."""
