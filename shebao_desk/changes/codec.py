"""Column values to JSON and back, by each column's type, losslessly (photos included)."""

from __future__ import annotations

import base64
import datetime as dt
import enum
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, LargeBinary, Table

from shebao_desk.models import Base
from shebao_desk.models.base import UTCDateTime


def encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    return value


@lru_cache(maxsize=None)
def _decoders(table_name: str) -> dict[str, Any]:
    table: Table = Base.metadata.tables[table_name]
    out: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, UTCDateTime):
            out[column.key] = lambda v: None if v is None else dt.datetime.fromisoformat(v)
        elif isinstance(kind, Date):
            out[column.key] = lambda v: None if v is None else dt.date.fromisoformat(v)
        elif isinstance(kind, LargeBinary):
            out[column.key] = lambda v: None if v is None else base64.b64decode(v["b64"])
    return out


@lru_cache(maxsize=None)
def _column_names(table_name: str) -> frozenset[str]:
    return frozenset(c.key for c in Base.metadata.tables[table_name].columns)


def decode(table_name: str, values: dict[str, Any]) -> dict[str, Any]:
    decoders = _decoders(table_name)
    columns = _column_names(table_name)  # a set: a ColumnCollection's `in` costs more than the decoding
    return {k: decoders[k](v) if k in decoders else v for k, v in values.items() if k in columns}
