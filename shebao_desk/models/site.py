"""The window itself and its clerks: site identity, accounts, attendance."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Row, enum_column, utc_opt


class Role(enum.StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {"clerk": "经办员", "supervisor": "主管", "admin": "管理员"}[self.value]


class Site(Row):
    """This workstation's identity; exactly one row per store."""

    __tablename__ = "site"

    institution: Mapped[str] = mapped_column(String(100))
    window_name: Mapped[str] = mapped_column(String(100))
    window_code: Mapped[str] = mapped_column(String(16))
    workstation_id: Mapped[str] = mapped_column(String(8))
    region_code: Mapped[str] = mapped_column(String(6))
    training: Mapped[bool] = mapped_column(default=False)


class Clerk(Row):
    __tablename__ = "clerk"

    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[utc_opt]
    last_login_at: Mapped[utc_opt]


class Attendance(Row):
    """One clerk's working day: sign-in and sign-out."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("clerk_id", "day"),)

    clerk_id: Mapped[str] = mapped_column(ForeignKey("clerk.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    sign_in_at: Mapped[utc_opt]
    sign_out_at: Mapped[utc_opt]
    workstation: Mapped[str] = mapped_column(String(8), default="")
