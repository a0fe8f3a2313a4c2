"""Pauses of Python's cyclic garbage collector, one mechanism for every place that pauses it.

A push or pull pauses it (each batch is tens of thousands of fresh dicts that reference counting
frees anyway); the workbench runs the collector itself from its GUI thread (ui/collector.py) and
keeps the automatic one off for good. Pauses nest and may come from several threads; the
automatic collector is on again after the last one only where nobody has taken it over, and the
workbench's collector does nothing while any pause lasts.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_pauses = 0
_automatic = True  # False once ui/collector.py runs the collector from the GUI thread


@contextlib.contextmanager
def paused() -> Iterator[None]:
    global _pauses
    with _lock:
        _pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _automatic:
                gc.enable()


def active() -> bool:
    """Whether some pause lasts now."""
    return _pauses > 0


def take_over() -> None:
    """The caller runs the collector from now on: the automatic one stays off."""
    global _automatic
    with _lock:
        _automatic = False
        gc.disable()
