"""Logging: a rotating file in the user's log folder, ID numbers masked on the way out."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from platformdirs import user_log_dir

from shebao_desk.idnumber import mask_id_number

_ID_NUMBER = re.compile(r"(?<![0-9])[1-9]\d{16}[\dXx](?![0-9])")

# Raw APDU traffic logs below DEBUG, as yubikit does, so DEBUG stays readable.
TRAFFIC = 5
logging.addLevelName(TRAFFIC, "TRAFFIC")


class MaskIdNumbers(logging.Filter):
    """Last line of defence: an 18-digit ID number never reaches a log file whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def log_file() -> Path:
    return Path(user_log_dir("shebao-desk", appauthor=False)) / "shebao-desk.log"


def setup_logging(level: str = "INFO", *, to_file: bool = True) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    problem = None
    if to_file:
        path = log_file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"))
        except OSError as exc:
            problem = f"cannot write log file {path}: {exc}"
    if not handlers:  # the clerk-facing messages already go to stderr; the console is the fallback log
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        handlers.append(console)
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(MaskIdNumbers())
        root.addHandler(handler)
    if problem:
        logging.getLogger(__name__).warning(problem)
