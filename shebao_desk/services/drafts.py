"""Drafts: what the clerk has typed, kept on disk so closing the window or a crash loses nothing.

Written atomically (temporary file + rename): a crash mid-write leaves the last
good draft. Drafts hold what the clerk typed, never a PIN.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class DraftFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, data: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk must not stop the clerk typing
            log.warning("draft not saved to %s: %s", self.path, exc)

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("draft %s unreadable: %s", self.path, exc)
            return None
        return data if isinstance(data, dict) else None

    def clear(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("draft %s not removed: %s", self.path, exc)
