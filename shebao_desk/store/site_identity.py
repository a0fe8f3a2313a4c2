"""This store's site row: which window and workstation it belongs to, and which incarnation it is.

The identity is chosen explicitly at set-up (``shebao-desk setup`` or the GUI's first
start); nothing defaults to a workstation code behind the clerk's back, because two
PCs with the same code issue the same case numbers. A restore from backup starts a
new *incarnation*: numbers issued afterwards (case numbers of that day, bundle
numbers) can never repeat ones the lost copy had already issued.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_day, now_utc
from shebao_desk.config.site_config import SiteConfig
from shebao_desk.errors import ShebaoError, ValidationError
from shebao_desk.models import Site, SyncState
from shebao_desk.store import state
from shebao_desk.store.database import open_store

WINDOW_CODE = re.compile(r"[A-Za-z0-9]{1,8}")
WORKSTATION_ID = re.compile(r"[A-Za-z0-9]{1,4}")
INCARNATION_DAY = "incarnation_day"  # the (China) day the current incarnation began
CASES_PER_INCARNATION = 1000  # a restored store numbers that day's cases from N×1000 + 1


class SetupNeeded(ShebaoError):
    def __init__(self) -> None:
        super().__init__("本机尚未设置窗口编号和工作站编号：请运行 shebao-desk setup --window 窗口编号 "
                         "--workstation 工作站编号（或在首次启动的窗口中填写）", "no site row")


def get_site(session: Session) -> Site | None:
    return session.scalar(select(Site).limit(1))


def check_codes(window_code: str, workstation_id: str) -> tuple[str, str]:
    window_code, workstation_id = window_code.strip().upper(), workstation_id.strip().upper()
    if not WINDOW_CODE.fullmatch(window_code):
        raise ValidationError("窗口编号应为 1—8 位字母或数字")
    if not WORKSTATION_ID.fullmatch(workstation_id):
        raise ValidationError("工作站编号应为 1—4 位字母或数字")
    return window_code, workstation_id


def ensure_site(session: Session, config: SiteConfig, workstation_id: str | None = None, *, training: bool = False,
                window_code: str | None = None) -> Site:
    """The site row; made from the codes given when there is none yet (no code given: SetupNeeded)."""
    site = get_site(session)
    if site is not None:
        return site
    if not workstation_id:
        raise SetupNeeded()
    window, workstation = check_codes(window_code or config.window_code, workstation_id)
    site = Site(institution=config.institution, window_name=config.window_name,
                window_code=window, workstation_id=workstation,
                region_code=config.region_code, training=training)
    session.add(site)
    session.flush()
    store_id(session.connection())
    return site


def store_id(conn: Connection) -> str:
    """This store's own identity (made once): what the central register of workstations holds."""
    value = state.get(conn, state.STORE_ID)
    if value is None:
        value = str(uuid.uuid4())
        state.put(conn, state.STORE_ID, value)
    return value


def incarnation(session: Session) -> tuple[int, dt.date | None]:
    rows = dict(session.execute(select(SyncState.key, SyncState.value)
                                .where(SyncState.key.in_((state.INCARNATION, INCARNATION_DAY)))).all())
    day = rows.get(INCARNATION_DAY)
    return int(rows.get(state.INCARNATION, "0")), dt.date.fromisoformat(day) if day else None


def case_sequence_floor(session: Session, day: dt.date) -> int:
    """Case numbers of ``day`` start above this: a restored store never reissues the lost copy's numbers."""
    number, since = incarnation(session)
    if number and since is not None and day <= since:
        return number * CASES_PER_INCARNATION
    return 0


def start_new_incarnation(db: Path, previous: int = 0) -> int:
    """After a restore: the next incarnation, and bundles numbered afresh within it."""
    store = open_store(db)
    try:
        with store.engine.begin() as conn:
            restored = state.get_int(conn, state.INCARNATION)
            number = max(restored, previous) + 1
            state.put(conn, state.INCARNATION, str(number))
            state.put(conn, INCARNATION_DAY, local_day(now_utc()).isoformat())
            state.put(conn, state.BUNDLE_NUMBER, "0")
    finally:
        store.close()
    return number


def current_incarnation(db: Path) -> int:
    store = open_store(db)
    try:
        with store.engine.connect() as conn:
            return state.get_int(conn, state.INCARNATION)
    finally:
        store.close()
