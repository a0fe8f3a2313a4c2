"""Logging: a rotating owner-only file in the user's log folder, personal data masked on the way out.

The mask works on the formatted text, the traceback included (``exc_info``), so no
path through a formatter can carry a whole ID number. Hex dumps (the APDU trace)
are decoded and hidden when they hold an ID number or Chinese text (a name).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from io import TextIOWrapper
from pathlib import Path

from platformdirs import user_log_dir

from shebao_desk.rules.idnumber import ID_NUMBER_IN_TEXT, mask_id_numbers

_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){6,}(?![0-9A-Fa-f])")
_CJK = re.compile(r"[\u3400-\u9fff]{2,}")

# Raw APDU traffic logs below DEBUG, as yubikit does, so DEBUG stays readable.
TRAFFIC = 5
logging.addLevelName(TRAFFIC, "TRAFFIC")


def surname(name: str | None) -> str:
    """A person's name as logs show it: the surname (first character) and a mark per hidden one."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


def _personal_bytes(data: bytes) -> bool:
    """Does a hex dump hold an ID number or a name (ASCII digits; GBK or UTF-8 Chinese)?"""
    if ID_NUMBER_IN_TEXT.search(data.decode("latin-1")):
        return True
    for codec in ("utf-8", "gbk"):
        if _CJK.search(data.decode(codec, errors="ignore")):
            return True
    return False


def _mask_hex(match: re.Match[str]) -> str:
    data = bytes.fromhex(match.group(0))
    return f"<{len(data)} bytes personal data>" if _personal_bytes(data) else match.group(0)


def mask_text(text: str, *, hex_dumps: bool = True) -> str:
    """Every whole ID number masked; hex dumps holding personal data replaced.

    Hex dumps are looked into only in trace records (DEBUG and below): elsewhere a hash or a
    key fingerprint could decode to Chinese by chance and be hidden for nothing."""
    if hex_dumps:
        text = _HEX_RUN.sub(_mask_hex, text)
    return mask_id_numbers(text)


class MaskIdNumbers(logging.Filter):
    """The message itself masked, for handlers whose formatter is not ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message, hex_dumps=record.levelno <= logging.DEBUG)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted record: message, traceback and stack alike."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record), hex_dumps=record.levelno <= logging.DEBUG)


class OwnerOnlyFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files (the rotated ones too) only their owner can read."""

    def _open(self) -> TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        restrict(Path(self.baseFilename))
        return super()._open()


def restrict(path: Path, mode: int = 0o600) -> None:
    """Owner-only permissions on POSIX (on Windows the per-user folders do this job)."""
    if os.name == "posix":
        try:
            os.chmod(path, mode)
        except FileNotFoundError:
            pass


def owner_only_umask() -> None:
    """Everything this process creates (store, WAL, backups, logs, bundles, PDFs) is the owner's alone."""
    if os.name == "posix":
        os.umask(0o077)


def private_dir(path: Path) -> Path:
    """Make a folder (and missing parents) that only its owner can enter."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    restrict(path, 0o700)
    return path


def log_file() -> Path:
    return Path(user_log_dir("shebao-desk", appauthor=False)) / "shebao-desk.log"


def setup_logging(level: str = "INFO", *, to_file: bool = True) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    fmt = MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    problem = None
    if to_file:
        path = log_file()
        try:
            private_dir(path.parent)
            handlers.append(OwnerOnlyFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"))
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
