"""Deadlines for whole card operations, so a reader that stops answering never hangs the caller.

One thread hand-off per operation (not per APDU): the work runs on a small pool
and the caller waits at most ``seconds``. A call still stuck after its deadline
is abandoned to its thread; the caller has its typed error already.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from shebao_desk.devices.errors import DeviceTimeoutError

T = TypeVar("T")
OPERATION_TIMEOUT_S = 15.0

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="card-op")


def with_deadline(fn: Callable[[], T], what: str, seconds: float = OPERATION_TIMEOUT_S) -> T:
    future = _pool.submit(fn)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        raise DeviceTimeoutError(what, seconds) from None
