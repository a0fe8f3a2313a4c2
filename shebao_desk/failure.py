"""Any failure as one plain Chinese line for the clerk, and its traceback for the log (masked).

The CLI and the GUI both end here for errors the code did not raise itself as a
:class:`ShebaoError`: a driver error from PostgreSQL or SQLite, a migration that
does not know the store's schema, a full disk, a damaged file.
"""

from __future__ import annotations

import errno
import re
import traceback
from collections.abc import Iterator

from shebao_desk.errors import ShebaoError
from shebao_desk.rules.idnumber import mask_id_numbers

_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")

RESTORE_HINT = "可用 shebao-desk db restore 备份文件 从备份恢复"


def masked(text: str) -> str:
    """ID numbers and database passwords out of a text bound for the log."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return mask_id_numbers(text)


def trace_text(exc: BaseException) -> str:
    return masked("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__


def _is_psycopg(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("psycopg")


def _sqlite_kinds(exc: BaseException) -> set[str]:
    """The DB-API class names of an error of the standard sqlite3 or of SQLCipher's module (two
    separate class trees: sqlcipher3's OperationalError is not sqlite3's)."""
    if not type(exc).__module__.startswith(("sqlite3", "sqlcipher3")):
        return set()
    return {c.__name__ for c in type(exc).__mro__}


def disk_full(exc: BaseException) -> bool:
    """The local disk is full: SQLite's SQLITE_FULL or the system's ENOSPC, anywhere in the chain."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return True
        if _sqlite_kinds(e) and "disk is full" in str(e):
            return True
    return False


def local_failure(exc: BaseException) -> str | None:
    """What went wrong on this PC (its disk, its store), when that is the cause: a sync or an import
    must not blame the network or central for it. None when the cause is elsewhere."""
    if disk_full(exc):
        return "本机磁盘已满"
    for e in _chain(exc):
        if _sqlite_kinds(e):
            return f"本机数据库出错（{str(e).splitlines()[0][:80] if str(e) else type(e).__name__}）"
        if isinstance(e, OSError) and not _is_psycopg(e):
            return f"本机文件读写失败（{e.strerror or e}）"
    return None


def explain(exc: BaseException) -> str:
    """The one line a clerk reads for ``exc``."""
    if isinstance(exc, ShebaoError):
        return exc.message
    for e in _chain(exc):
        name = type(e).__name__
        text = str(e)
        if _is_psycopg(e):
            first = masked(text.strip().splitlines()[0] if text.strip() else name)
            if name in ("OperationalError", "ConnectionTimeout", "InterfaceError"):
                return f"无法连接中心数据库或连接已中断，请检查网络和地址后重试（{first}）"
            return f"中心数据库拒绝了这次操作，数据未改变（{first}）"
        kinds = _sqlite_kinds(e)
        if "disk is full" in text and kinds:
            return "磁盘已满，操作未完成，数据未改变；请清理磁盘后重试"
        if "OperationalError" in kinds:
            if "locked" in text or "busy" in text:
                return "数据库正被另一个程序占用，请稍后重试"
            if "unable to open" in text:
                return "无法打开数据库文件，请检查路径和权限"
            if "no such table" in text or "no such column" in text:
                return f"数据库结构不完整（{text}），数据未改变；{RESTORE_HINT}"
        if "DatabaseError" in kinds:
            return f"数据库文件已损坏或不是本工作台的数据库（{text}），数据未改变；{RESTORE_HINT}"
        if type(e).__module__.startswith("alembic"):
            if "Can't locate revision" in text or "No such revision" in text:
                return "数据库由更新版本的工作台建立，本程序无法打开；请升级本程序，或从备份恢复"
            return f"数据库结构升级失败（{text.splitlines()[0] if text else name}），数据未改变"
        if isinstance(e, MemoryError):
            return "内存不足，操作未完成，数据未改变"
        if isinstance(e, OSError):
            if e.errno == errno.ENOSPC:
                return "磁盘已满，操作未完成，数据未改变；请清理磁盘后重试"
            if isinstance(e, PermissionError):
                return f"没有权限读写文件 {e.filename or ''}".rstrip()
            if isinstance(e, FileNotFoundError):
                return f"找不到文件 {e.filename or ''}".rstrip()
            return f"文件读写失败：{e.strerror or e}"
    return "发生了意外错误，操作未完成，数据未改变。详情已写入日志，请联系管理员"
