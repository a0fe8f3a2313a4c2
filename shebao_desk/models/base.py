"""The declarative base and the column types every table shares.

Every row has a UUID primary key and UTC ``created_at``/``updated_at`` so that
rows made on different workstations can be merged later without clashes.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from typing import Annotated, Any, cast

from sqlalchemy import JSON, DateTime, Enum, MetaData, String, Table, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


_STABLE_NS = uuid.UUID("0b7f4d2e-8a55-4d7e-9b0e-5b1f2c3d4e5f")


def stable_uuid(kind: str, key: str) -> str:
    """The same UUID on every workstation for the same thing (a person's ID number, a username),
    so records made apart merge into one row instead of clashing."""
    return str(uuid.uuid5(_STABLE_NS, f"{kind}:{key}"))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stored as naive UTC (SQLite has no time zones), returned aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


# A valid time as SQLite's DateTime stores it, as text (days past the 28th are left to a full parse):
# readers of millions of raw rows rewrite such a value as text instead of parsing it (db check).
SQLITE_STORED_TIME = re.compile(r"[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}")


def enum_column(kind: type[enum.Enum], length: int = 24) -> Enum:
    """Enums stored by value (readable in SQL, stable across renames of members)."""
    return Enum(kind, values_callable=lambda k: [m.value for m in k], native_enum=False,
                length=length, validate_strings=True)


uuid_pk = Annotated[str, mapped_column(String(36), primary_key=True, default=new_uuid)]
utc = Annotated[dt.datetime, mapped_column(UTCDateTime())]
utc_opt = Annotated[dt.datetime | None, mapped_column(UTCDateTime(), nullable=True)]
code = Annotated[str, mapped_column(String(32))]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Row(Base):
    """Abstract: the identity and timestamps every synced row carries."""

    __abstract__ = True

    id: Mapped[uuid_pk]
    created_at: Mapped[utc] = mapped_column(default=utcnow)
    updated_at: Mapped[utc] = mapped_column(default=utcnow, onupdate=utcnow)


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table, for Core statements (insert/update/delete, ``.c``).

    SQLAlchemy types ``Model.__table__`` as a FromClause, though a declarative class always has a Table."""
    return cast(Table, model.__table__)
