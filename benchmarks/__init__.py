"""``./shebao bench``: figures, each measured beside the floor the hardware allows (see ``runner``).

Every ``bench_*`` module declares ``FIGURES`` and defines ``run(quick: bool = False) -> list[Figure]``.
Results go to ``bench-results/latest.json`` and ``bench-results/history.jsonl``. Timings never fail
anything; a module that crashes or leaves out a figure fails the run and the test suite.
"""
