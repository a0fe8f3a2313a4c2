"""Changes relayed before their origin ever synced, and changes that wait for a row (issue 25, items 2–3).

A PC that takes another window's bundle pushes that window's changes to central with its own
(a relay). They must be accepted on the first push (their clerk travels too), reach the
origin's window as well as the relaying one, and their audit entries must follow the rows they
describe. A bundle whose rows refer to a row made at a third site is taken in part, the rest
parked and merged as soon as that row arrives, never refused whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shebao_desk.config.policy import Policy
from shebao_desk.models import Case, Clerk, Role, SyncQuarantine
from shebao_desk.services.auth import create_clerk
from shebao_desk.services.intake import complete_case
from shebao_desk.services.invariants import check_store
from shebao_desk.store.database import open_store
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.sync.bundle import export_bundle, import_bundle, own_key, trust
from shebao_desk.sync.central import SyncError, lookup_person, sync
from shebao_desk.sync.digest import digest
from shebao_desk.sync.status import sync_status

from conftest import MONDAY, applicant, needs_pg, take


class Station:
    def __init__(self, tmp_path: Path, policy: Policy, window: str, ws: str) -> None:
        self.policy = dataclasses.replace(policy, site=dataclasses.replace(policy.site, window_code=window))
        self.store = open_store(tmp_path / f"{window}{ws}.sqlite3")
        self.origin = f"{window}{ws}"
        with self.store.unit(None, ws, "setup") as s:
            self.site = ensure_site(s, self.policy.site, ws)
            self.clerk = create_clerk(s, f"clerk{window}{ws}".lower(), "经办", "passw0rd!", Role.CLERK)
        self.exported = 0

    def carry_to(self, other: Station, tmp_path: Path) -> Any:
        self.exported += 1
        made = export_bundle(self.store, tmp_path / f"{self.origin}-{self.exported}.bundle")
        assert made is not None
        return import_bundle(other.store, made.path)

    def scalar(self, sql: str, **params: object) -> Any:
        with self.store.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def findings(self) -> list[str]:
        with Session(self.store.engine) as s:
            return [str(f) for f in check_store(s) if not f.open_conflict]


def pin_both(a: Station, b: Station) -> None:
    trust(a.store, *own_key(b.store))
    trust(b.store, *own_key(a.store))


@pytest.fixture
def stations(tmp_path: Path, policy: Policy):
    made = {name: Station(tmp_path, policy, name[:4], name[4:]) for name in ("SZ011", "SZ012", "SZ021", "SZ022")}
    yield made
    for st in made.values():
        st.store.close()


@pytest.mark.slow
@needs_pg
def test_a_case_relayed_before_its_origin_synced_is_accepted_on_the_first_push(stations, tmp_path, central):
    """repro_relay_quarantine.py: C1 applies, its bundle goes to A2 of another window, the card is
    collected at A2; then everyone syncs, C1 last."""
    a1, a2, c1 = stations["SZ011"], stations["SZ012"], stations["SZ021"]
    pin_both(a2, c1)
    who = applicant(700)
    take(c1.store, c1.policy, (c1.clerk, c1.site), "apply", who, now=MONDAY - dt.timedelta(hours=1))
    c1.carry_to(a2, tmp_path)
    number = c1.scalar('SELECT number FROM "case"')
    with a2.store.unit(a2.clerk.id, "2", "collect") as s:
        complete_case(s, s.scalar(select(Case).where(Case.number == number)), s.get(Clerk, a2.clerk.id),
                      MONDAY - dt.timedelta(minutes=30))
    for _ in range(2):
        for st in (a1, a2, c1):
            report = sync(st.store, central)
            assert report.quarantined == 0, report.reasons
    status = {st.origin: st.scalar('SELECT status FROM "case" WHERE number = :n', n=number) for st in (a1, a2, c1)}
    assert set(status.values()) == {"completed"}, status
    with a1.store.engine.connect() as one, a2.store.engine.connect() as two:
        assert digest(one) == digest(two)
    for st in (a1, a2, c1):
        assert st.findings() == [], st.origin


@pytest.mark.slow
@needs_pg
def test_a_relayed_change_reaches_its_origins_window_before_the_origin_syncs(stations, tmp_path, central):
    a2, c1, c2 = stations["SZ012"], stations["SZ021"], stations["SZ022"]
    pin_both(a2, c1)
    who = applicant(701)
    take(c1.store, c1.policy, (c1.clerk, c1.site), "apply", who)
    c1.carry_to(a2, tmp_path)
    assert sync(a2.store, central).quarantined == 0
    sync(c2.store, central)  # C1's partner PC: C1 never synced
    assert c2.scalar("SELECT count(*) FROM person WHERE id_number = :n", n=who.id_number) == 1
    assert c2.scalar('SELECT count(*) FROM "case"') == 1
    # the clerk who accepted it travelled as a name card, and its own account replaces it once C1 syncs
    assert c2.scalar("SELECT password_hash FROM clerk WHERE id = :i", i=c1.clerk.id) == ""
    sync(c1.store, central)
    sync(c2.store, central)
    assert c2.scalar("SELECT password_hash FROM clerk WHERE id = :i", i=c1.clerk.id).startswith("$argon2")
    assert c2.findings() == []


@pytest.mark.slow
@needs_pg
def test_audit_entries_pushed_before_their_row_follow_the_row(stations, tmp_path, central):
    """An entry that reaches central before its row (the row held back in quarantine at its sender)
    waits for it, and then reaches every window that holds the row, not only the sender's."""
    a1, c1 = stations["SZ011"], stations["SZ021"]
    who = applicant(702)
    take(c1.store, c1.policy, (c1.clerk, c1.site), "apply", who)
    with c1.store.engine.begin() as conn:  # the case's change is refused centrally for now
        conn.execute(text("INSERT INTO sync_quarantine SELECT change_id, table_name, row_id, 'test', '', 1, "
                          "created_at FROM sync_change WHERE table_name = 'case'"))
    sync(c1.store, central)  # the person, the card and every audit entry, the case's included
    assert lookup_person(a1.store, central, who.id_number).person_id  # window SZ01 holds the person now
    with c1.store.engine.begin() as conn:
        conn.execute(SyncQuarantine.__table__.delete())
    sync(c1.store, central)
    sync(a1.store, central)
    case_id = c1.scalar('SELECT id FROM "case"')
    assert a1.scalar('SELECT count(*) FROM "case"') == 1
    assert a1.scalar("SELECT count(*) FROM audit_entry WHERE row_id = :i", i=case_id) >= 1
    assert a1.findings() == []


def test_a_bundle_whose_card_names_a_third_sites_person_is_taken_in_part(stations, tmp_path):
    """A person registered at T, a card business for them at S (which got the person from T's bundle),
    S's bundle at R before T's: R takes what it can, parks the rest, and takes it in with T's bundle."""
    t, s_, r = stations["SZ021"], stations["SZ012"], stations["SZ011"]
    for x, y in ((t, s_), (s_, r), (t, r)):
        pin_both(x, y)
    who = applicant(703)
    take(t.store, t.policy, (t.clerk, t.site), "apply", who)
    t_bundle = export_bundle(t.store, tmp_path / "t1.bundle")
    import_bundle(s_.store, t_bundle.path)
    number = s_.scalar('SELECT number FROM "case"')
    with s_.store.unit(s_.clerk.id, "2", "collect") as s:
        complete_case(s, s.scalar(select(Case).where(Case.number == number)), s.get(Clerk, s_.clerk.id), MONDAY)
    result = s_.carry_to(r, tmp_path)  # the case update waits: R holds neither the person nor the case
    assert result.parked > 0
    assert r.scalar("SELECT count(*) FROM sync_parked") == result.parked
    assert f"收到的变更 {result.parked} 条等待" in sync_status(r.store, 7).text()
    assert r.findings() == []
    import_bundle(r.store, t_bundle.path)
    assert r.scalar("SELECT count(*) FROM sync_parked") == 0
    assert r.scalar('SELECT status FROM "case"') == "completed"
    assert r.findings() == []
    assert r.scalar("SELECT count(*) FROM clerk WHERE id = :i", i=t.clerk.id) == 1


@pytest.mark.slow
@needs_pg
def test_a_local_integrity_error_in_the_pull_is_not_blamed_on_central(stations, central):
    """Probe F6: the local UNIQUE on case.number failed the pull, and the clerk read that central refused."""
    a1, a2 = stations["SZ011"], stations["SZ012"]
    take(a1.store, a1.policy, (a1.clerk, a1.site), "apply", applicant(704))
    take(a2.store, a2.policy, (a2.clerk, a2.site), "apply", applicant(705))
    sync(a1.store, central)
    number = a1.scalar('SELECT number FROM "case"')
    with a2.store.engine.begin() as conn:  # a number issued twice (another tool, a broken copy)
        conn.execute(text('UPDATE "case" SET number = :n'), {"n": number})
    with pytest.raises(SyncError) as caught:
        sync(a2.store, central)
    assert "本机数据库" in caught.value.message and "中心数据库拒绝" not in caught.value.message
