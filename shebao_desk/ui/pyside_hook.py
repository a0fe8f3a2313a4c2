"""A cheaper answer to PySide6's question about every module imported after it.

PySide6 (PYSIDE-2029) asks of each newly imported module whether its source mentions "PySide6", so
that ``from __feature__ import …`` works per module. It asks through ``inspect.getsource``, which
resolves the module by walking ``sys.modules`` and tokenizes the file: about 60 ms of CPU over the
~480 modules that load behind the login window. Reading the file's bytes answers the same question.
"""

from __future__ import annotations

import logging
import sys
from types import ModuleType

log = logging.getLogger(__name__)

FEATURE_MODULE = "shibokensupport.feature"  # PySide6's own name for it, 6.5 to 6.9


def mentions_pyside(module: ModuleType, fallback) -> bool:
    path = getattr(module, "__file__", None)
    if isinstance(path, str) and path.endswith(".py"):
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            pass
    return bool(fallback(module))  # built-ins, extensions, zipped or frozen modules: PySide6's own way


def install() -> bool:
    """Answer from the file's bytes from now on. False when this PySide6 has no such probe (nothing to do)."""
    feature = sys.modules.get(FEATURE_MODULE)
    probe = getattr(feature, "_mod_uses_pyside", None)
    if probe is None or getattr(probe, "shebao_desk", False):
        return probe is not None
    def quick(module: ModuleType) -> bool:
        return mentions_pyside(module, probe)
    quick.shebao_desk = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = quick  # type: ignore[union-attr]
    log.debug("PySide6's feature probe reads module files directly")
    return True
