"""Benchmarks: ``python -m bench SCENARIO [--variants N] [--db sqlite|postgres]``.

The harness prepares its own database and data, serves the sandbox over real HTTP, runs a
scenario through the real service functions in a fresh process (so peak RSS is the
scenario's own), runs a naive per-item baseline on a subset, and prints one JSON line.
"""
