"""The error hierarchy of the core.

Every error carries a plain Chinese message for the clerk (``message``) and the
exact technical reason for the log (``detail``). The UI has one place that shows
``message``; the log gets both.
"""

from __future__ import annotations


class ShebaoError(Exception):
    """Base of every error the program expects and can explain."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message

    def __str__(self) -> str:
        return self.message if self.detail == self.message else f"{self.message}（{self.detail}）"


class ResourceError(ShebaoError):
    """A data file under resources/ is missing or malformed."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"数据文件 {path} 有误：{problem}", f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ValidationError(ShebaoError):
    """Input the clerk typed does not meet a rule."""


class RuleViolation(ShebaoError):
    """A business rule refuses the requested operation."""


class CalendarUnknownYear(ShebaoError):
    def __init__(self, year: int) -> None:
        super().__init__(
            f"系统还没有 {year} 年的法定节假日安排，无法计算工作日；请管理员导入 {year} 年的日历数据文件。",
            f"no working-day calendar for {year}",
        )
        self.year = year


class AuthError(ShebaoError):
    """Login refused."""


class StoreError(ShebaoError):
    """The local database cannot be opened, migrated or written."""
