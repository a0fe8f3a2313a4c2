"""One mechanism pauses the cyclic collector (a push, a pull): pauses nest, across threads, and the
automatic collector comes back after the last one unless the workbench has taken it over."""

import subprocess
import sys

CHILD = """
import gc, threading
from shebao_desk import gc_pauses
with gc_pauses.paused():
    with gc_pauses.paused():
        pass
    inner = gc.isenabled()
    seen = []
    t = threading.Thread(target=lambda: seen.append(gc_pauses.active()))
    t.start(); t.join()
print("nested", inner, seen, gc.isenabled(), gc_pauses.active())
gc_pauses.take_over()
with gc_pauses.paused():
    pass
print("taken over", gc.isenabled())
"""


def test_pauses_nest_and_the_automatic_collector_returns_unless_taken_over():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["nested False [True] True False", "taken over False"]
