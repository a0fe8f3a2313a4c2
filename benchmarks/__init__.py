"""``make bench``: figures, each measured beside the floor the hardware allows.

Every benchmark module defines ``run() -> list[Figure]``. Results go to
``bench-results/latest.json``. Benchmarks report; they never fail the suite.
"""
