"""Scoped replication against a real PostgreSQL: a window receives its own people and those it
looks up, never the rest of the city; the city report from central adds up the windows' own."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import uuid

import pytest
from conftest import MONDAY, applicant, misscoped_changes, needs_pg, on_central, take
from openpyxl import load_workbook
from sqlalchemy import create_engine, select, text
from test_sync import issued

from shebao_desk.services.auth import create_clerk
from shebao_desk.errors import RuleViolation
from shebao_desk.services.intake import find_person
from shebao_desk.models import Card, CardStatus, Case, Clerk, LossKind, Person, Role, SyncChange
from shebao_desk.models.base import stable_uuid
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.services.statistics import month, report_sections
from shebao_desk.store.database import open_store
from shebao_desk.sync import scope as scope_module
from shebao_desk.sync.central import (
    CentralUnavailable,
    check_card_with_central,
    lookup_person,
    sync,
)

A, B = "SZ01", "DF02"  # two windows of the city


def window_station(tmp_path, policy, window, ws, clerk_name):
    pol = dataclasses.replace(policy, site=dataclasses.replace(policy.site, window_code=window))
    store = open_store(tmp_path / f"{window}{ws}.sqlite3")
    with store.unit(None, ws, "setup") as s:
        site = ensure_site(s, pol.site, ws)
        clerk = s.scalar(select(Clerk)) or create_clerk(s, clerk_name, "经办", "passw0rd!", Role.CLERK)
    return store, pol, (clerk, site)


def ids_in(store, model) -> set[str]:
    with store.read() as s:
        return set(s.scalars(select(model.id)))


def knows(store, who) -> bool:
    with store.read() as s:
        return find_person(s, who.id_number) is not None


@pytest.mark.slow
@needs_pg
def test_a_window_receives_a_person_of_another_window_only_after_looking_them_up(tmp_path, policy, central):
    a1, pa, csa1 = window_station(tmp_path, policy, A, "1", "wang")
    a2, _, _ = window_station(tmp_path, policy, A, "2", "wang")
    b1, pb, csb1 = window_station(tmp_path, policy, B, "1", "li")
    theirs, other, ours = applicant(500), applicant(501), applicant(600)
    issued(a1, pa, csa1, theirs)
    issued(a1, pa, csa1, other)
    issued(b1, pb, csb1, ours)
    for store in (a1, a2, b1, a1, a2, b1):
        sync(store, central)
    assert knows(a2, theirs) and knows(a2, other) and not knows(a2, ours)  # one window, one store
    assert not knows(b1, theirs) and not knows(b1, other)
    assert csa1[0].id not in ids_in(b1, Clerk)  # nor A's clerk accounts
    b_cases = ids_in(b1, Case)

    # A clerk at B1 types the ID number of A's person: the history arrives, and only that person's.
    found = lookup_person(b1, central, theirs.id_number)
    assert found.person_id and found.received > 0
    with b1.read() as s:
        person = find_person(s, theirs.id_number)
        assert [c.status for c in person.cards] == [CardStatus.NORMAL]
        cases = s.scalars(select(Case).where(Case.person_id == person.id)).all()
        assert [c.business for c in cases] == ["apply"] and cases[0].accepted_by == csa1[0].id
    assert not knows(b1, other)
    assert lookup_person(b1, central, applicant(999).id_number).person_id is None

    # Later changes follow, both ways: A's temporary loss reaches B1, B1's business reaches A2.
    take(a1, pa, csa1, "temp_loss", theirs, now=MONDAY + dt.timedelta(days=12))
    sync(a1, central)
    sync(b1, central)
    with b1.read() as s:
        assert [loss.kind for loss in find_person(s, theirs.id_number).cards[0].losses] == [LossKind.TEMPORARY]
    take(b1, pb, csb1, "info_change", theirs, changes={"phone": "13922223333"}, now=MONDAY + dt.timedelta(days=13))
    sync(b1, central)
    sync(a2, central)
    with a2.read() as s:
        assert find_person(s, theirs.id_number).phone == "13922223333"
        assert s.get(Clerk, csb1[0].id) is not None  # the B clerk who accepted that case
    assert not knows(a2, ours)
    # Both PCs of a window share what one of them looked up.
    b2, _, _ = window_station(tmp_path, policy, B, "2", "li")
    sync(b2, central)
    assert knows(b2, theirs) and knows(b2, ours) and not knows(b2, other)
    assert b_cases <= ids_in(b2, Case)


@needs_pg
def test_a_person_entered_offline_who_was_known_elsewhere_brings_their_history(tmp_path, policy, central):
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    b1, pb, csb = window_station(tmp_path, policy, B, "1", "li")
    who = applicant(750)
    issued(a1, pa, csa, who)
    sync(a1, central)
    take(b1, pb, csb, "apply", who, now=MONDAY + dt.timedelta(days=12))  # B1 could not ask central
    report = sync(b1, central)
    with b1.read() as s:
        cards = find_person(s, who.id_number).cards
        assert sorted(c.status.value for c in cards) == ["normal", "pending"]  # A's card arrived too
        assert s.get(Clerk, csa[0].id) is not None
    assert report.conflicts == 1  # two valid cards: flagged for a supervisor, as everywhere


@needs_pg
def test_a_central_log_from_before_scoping_is_scoped_at_the_next_sync(tmp_path, policy, central):
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    issued(a1, pa, csa, applicant(760))
    sync(a1, central)
    engine = create_engine(central)
    with engine.begin() as conn:  # as a central database upgraded with migration 0018 finds its log
        conn.execute(text("UPDATE sync_change SET scope = NULL"))
        conn.execute(text("TRUNCATE sync_scope, scope_member, scope_origin"))
    engine.dispose()
    a2, _, _ = window_station(tmp_path, policy, A, "2", "wang")
    b1, _, _ = window_station(tmp_path, policy, B, "1", "li")
    sync(b1, central)
    sync(a2, central)
    assert knows(a2, applicant(760)) and not knows(b1, applicant(760))


@pytest.mark.slow
@needs_pg
def test_a_card_formally_lost_elsewhere_cannot_be_lifted_here(tmp_path, policy, central):
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    b1, pb, csb = window_station(tmp_path, policy, B, "1", "li")
    who = applicant(700)
    issued(a1, pa, csa, who)
    take(a1, pa, csa, "temp_loss", who, now=MONDAY + dt.timedelta(days=12))
    sync(a1, central)
    sync(b1, central)
    lookup_person(b1, central, who.id_number)
    take(a1, pa, csa, "formal_loss", who, now=MONDAY + dt.timedelta(days=13))
    sync(a1, central)  # B1 has not synced since: locally the card is only temporarily lost
    with b1.read() as s:
        card_id = s.scalar(select(Card.id).join(Person).where(Person.id_number == who.id_number))
    assert check_card_with_central(b1, central, card_id) is True
    with pytest.raises(RuleViolation, match="正式挂失"):
        take(b1, pb, csb, "lift_loss", who, now=MONDAY + dt.timedelta(days=14))


@needs_pg
def test_a_lookup_reuses_the_last_ones_connection_and_replaces_a_dead_one(tmp_path, policy, central):
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    b1, _, _ = window_station(tmp_path, policy, B, "1", "li")
    people = [applicant(710 + i) for i in range(3)]
    for who in people:
        issued(a1, pa, csa, who)
    sync(a1, central)
    sync(b1, central)

    def backends():  # central's sessions other than the one asking
        return on_central(central, lambda c: sorted(c.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))))

    assert lookup_person(b1, central, people[0].id_number).received > 0
    first = backends()
    assert lookup_person(b1, central, people[1].id_number).received > 0
    assert backends() == first and len(first) == 1  # the ID number typed, then the next one: one session
    on_central(central, lambda c: c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first[0]}))
    assert lookup_person(b1, central, people[2].id_number).received > 0  # pinged, found dead, replaced
    assert len(backends()) == 1 and backends() != first
    assert all(knows(b1, who) for who in people)


@needs_pg
def test_offline_lookup_says_so_in_chinese_and_changes_nothing(tmp_path, policy):
    b1, _, _ = window_station(tmp_path, policy, B, "1", "li")
    before = ids_in(b1, Person)
    with pytest.raises(CentralUnavailable) as err:
        lookup_person(b1, "postgresql+psycopg://x:y@127.0.0.1:9/none", applicant(1).id_number)
    assert "无法连接中心数据库" in err.value.message and "继续办理" in err.value.message
    assert ids_in(b1, Person) == before


def _cli(*args, ok=True):
    result = subprocess.run([sys.executable, "-m", "shebao_desk", *args], check=False, capture_output=True,
                            text=True, timeout=300, env=os.environ)
    assert (result.returncode == 0) is ok, result.stderr
    return result


def _sheet_rows(path):
    book = load_workbook(path)
    return {name: [list(r) for r in book[name].iter_rows(min_row=3, values_only=True)] for name in book.sheetnames}


@pytest.mark.slow
@needs_pg
def test_city_report_from_central_adds_up_the_windows_own_reports(tmp_path, policy, central):
    a1, pa, csa1 = window_station(tmp_path, policy, A, "1", "wang")
    a2, _, csa2 = window_station(tmp_path, policy, A, "2", "wang")
    b1, pb, csb1 = window_station(tmp_path, policy, B, "1", "li")
    for i in range(3):
        issued(a1, pa, csa1, applicant(800 + i))
    issued(a2, pa, csa2, applicant(810))
    take(a2, pa, csa2, "apply", applicant(811))  # accepted, not completed
    for i in range(2):
        issued(b1, pb, csb1, applicant(820 + i))
    for store in (a1, a2, b1, a1):
        sync(store, central)
    lookup_person(b1, central, applicant(800).id_number)  # B1 now holds A's cases of that person too
    take(b1, pb, csb1, "temp_loss", applicant(800), now=MONDAY + dt.timedelta(days=12))
    for store in (b1, a1, a2):
        sync(store, central)

    out = {}
    for name, store in (("a", a1), ("b", b1)):
        out[name] = tmp_path / f"{name}.xlsx"
        _cli("--db", str(store.path), "report", "month", "2026-03", "--out", str(out[name]))
    city = tmp_path / "city.xlsx"
    _cli("report", "month", "2026-03", "--central", central, "--out", str(city))
    own = {name: _sheet_rows(path)["按业务"][-1] for name, path in out.items()}  # the 合计 row
    windows = _sheet_rows(city)["按窗口"]
    by_window = {r[0]: r for r in windows[:-1]}
    assert set(by_window) == {A, B}
    assert by_window[A][1:6] == own["a"][1:6] and by_window[B][1:6] == own["b"][1:6]
    total = windows[-1]
    assert total[0] == "合计"
    assert total[1:6] == [x + y for x, y in zip(own["a"][1:6], own["b"][1:6], strict=True)]
    assert total[1] >= 8  # 5 at A (one not completed), 2 applies and a temporary loss at B
    # A1 and A2 share one window: the same report.
    with a2.read() as s:
        a2_total = report_sections(s, month("2026-03"), pa, A)[0][1][-1]
    assert [a2_total.accepted, a2_total.completed] == own["a"][1:4:2]

    _cli("report", "month", "2026-03", "--central", "postgresql+psycopg://x:y@127.0.0.1:9/none",
         "--out", str(tmp_path / "x.xlsx"), ok=False)


@needs_pg
def test_the_intake_form_finds_a_person_of_another_window_at_central(tmp_path, policy, central, make_window,
                                                                       qtbot, monkeypatch):
    b1, pb, csb = window_station(tmp_path, policy, B, "1", "li")
    who = applicant(900, name="赵丹凤")
    issued(b1, pb, csb, who)
    sync(b1, central)
    monkeypatch.setenv("SHEBAO_CENTRAL", central)
    window, ctx = make_window(monitor=False)
    form = window.pages["intake"].form
    form.applicant.id_number.setText(who.id_number)
    qtbot.waitUntil(lambda: "系统记录" in form.applicant.person_status.text(), timeout=10_000)
    assert "赵丹凤" in form.applicant.person_status.text() and form.applicant.name.text() == "赵丹凤"
    assert knows(ctx.store, who)


def test_the_intake_form_says_when_central_cannot_be_asked(make_window, qtbot, monkeypatch):
    monkeypatch.setenv("SHEBAO_CENTRAL", "postgresql+psycopg://x:y@127.0.0.1:9/none")
    window, ctx = make_window(monitor=False)
    form = window.pages["intake"].form
    form.applicant.id_number.setText(applicant(901).id_number)
    qtbot.waitUntil(lambda: "无法连接中心数据库" in form.applicant.person_status.text(), timeout=10_000)
    assert "继续办理" in form.applicant.person_status.text()
    assert form.applicant.name.isEnabled() and not knows(ctx.store, applicant(901))


@needs_pg
def test_a_first_push_of_many_new_people_scopes_each_to_its_window_even_where_one_is_held_already(
        tmp_path, policy, central):
    """A push of 100 or more new people writes their window memberships by straight COPY; where one of
    them is held by the window already (looked up by its other PC), the whole set goes through ON
    CONFLICT instead, and nothing is lost or doubled either way."""
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    b1, pb, csb1 = window_station(tmp_path, policy, B, "1", "li")
    b2, _, csb2 = window_station(tmp_path, policy, B, "2", "li")
    known = applicant(800)
    take(a1, pa, csa, "apply", known)
    for seq in range(801, 911):  # 110 new people at A: the straight path
        take(a1, pa, csa, "apply", applicant(seq))
    sync(a1, central)
    sync(b1, central)
    assert lookup_person(b1, central, known.id_number).person_id  # B now holds A's person
    # B2, not synced yet, registers that person again and 110 people new to the city: the pair (B, known)
    # is there already, so the straight COPY of B's new memberships gives way to ON CONFLICT.
    take(b2, pb, csb2, "apply", known, now=MONDAY + dt.timedelta(days=12))
    born_at_b = [applicant(seq, birth=dt.date(1981, 6, 1)) for seq in range(1, 111)]
    for who in born_at_b:
        take(b2, pb, csb2, "apply", who, now=MONDAY + dt.timedelta(days=12))
    report = sync(b2, central)
    assert report.quarantined == 0 and report.pushed > 220
    engine = create_engine(central)
    with engine.connect() as conn:
        members = conn.execute(text("SELECT window_code, key FROM scope_member WHERE key NOT LIKE 'c:%'")).all()
    engine.dispose()
    by_window = {w: sorted(k for ww, k in members if ww == w) for w in (A, B)}
    assert len(by_window[A]) == 111 and len(set(by_window[A])) == 111
    assert len(by_window[B]) == 111  # the known person once, and B2's 110
    sync(b1, central)
    a2, _, _ = window_station(tmp_path, policy, A, "2", "wang")
    sync(a2, central)
    assert knows(b1, born_at_b[-1]) and knows(b1, known) and not knows(b1, applicant(850))
    assert knows(a2, applicant(850)) and knows(a2, known) and not knows(a2, born_at_b[-1])


@needs_pg
def test_a_cards_change_naming_another_owner_than_centrals_row_is_scoped_to_the_rows_person(
        tmp_path, policy, central):
    """A card's or case's change is scoped as it is logged to the person its values name; where the merged
    row says otherwise (here: an old insert of a card central holds for someone else, every field of it
    losing), the scope is rewritten to the row's person before any window's stream takes it."""
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    b1, _, _ = window_station(tmp_path, policy, B, "1", "li")
    who, stranger = applicant(950), applicant(951)
    issued(a1, pa, csa, who)
    sync(a1, central)
    with a1.read() as s:
        person = find_person(s, who.id_number)
        card = person.cards[0]
        inserted = s.execute(select(SyncChange.values).where(
            SyncChange.table_name == "card", SyncChange.row_id == card.id).order_by(SyncChange.seq)).scalars().first()
        audited = s.execute(select(SyncChange.values).where(SyncChange.table_name == "audit_entry")
                            .order_by(SyncChange.seq)).scalars().all()
    card_audit = next(v for v in audited if v["table_name"] == "card" and v["row_id"] == card.id)
    stale = {**inserted, "person_id": stable_uuid("person", stranger.id_number)}
    audit_id = str(uuid.uuid4())  # an audit entry of that card, in the same batch
    stale_audit = {**card_audit, "id": audit_id, "after": {**card_audit["after"], "person_id": stale["person_id"]}}
    change_id = str(uuid.uuid4())
    with b1.engine.begin() as conn:
        conn.execute(SyncChange.__table__.insert(), [{
            "change_id": cid, "table_name": table, "row_id": row_id, "hlc": "0000000000001-00000-X",
            "origin": f"{B}1", "values": values, "pushed": False, "created_at": dt.datetime.now(dt.UTC)}
            for cid, table, row_id, values in ((change_id, "card", card.id, stale),
                                               (str(uuid.uuid4()), "audit_entry", audit_id, stale_audit))])
    report = sync(b1, central)
    assert report.quarantined == 0
    engine = create_engine(central)
    with engine.connect() as conn:
        logged = conn.execute(text("SELECT seq, scope FROM sync_change WHERE change_id = :c"), {"c": change_id}).one()
        streams = set(conn.scalars(text("SELECT window_code FROM sync_scope WHERE change_seq = :s"), {"s": logged.seq}))
        held = conn.scalar(text("SELECT person_id FROM card WHERE id = :i"), {"i": card.id})
        audit_scope = conn.scalar(text("SELECT scope FROM sync_change WHERE row_id = :a"), {"a": audit_id})
        misplaced = misscoped_changes(conn)
    engine.dispose()
    assert held == person.id and logged.scope == person.id  # not the stranger the stale values named
    assert audit_scope == person.id and misplaced == []
    assert streams == {A, B}  # A holds the person; B pushed the change and now holds them too


def logged_kinds_and_misscoped(central) -> tuple[set[str], list]:
    """The kinds of change in central's log ("card", "audit of card", ...) and the changes scoped otherwise than
    their rows say (see conftest.misscoped_changes)."""
    engine = create_engine(central)
    with engine.connect() as conn:
        kinds = set(conn.scalars(text("SELECT DISTINCT CASE WHEN table_name = 'audit_entry' THEN "
                                      "'audit of ' || (\"values\"->>'table_name') ELSE table_name END FROM sync_change")))
        wrong = misscoped_changes(conn)
    engine.dispose()
    return kinds, wrong


@needs_pg
def test_later_business_on_rows_central_holds_is_scoped_to_their_person(tmp_path, policy, central, monkeypatch):
    """A loss report and its lifting on a card pushed before, and their audit entries: the rows they name
    are at central already, so their scope is the owner central holds, written with the log rows: no
    change is scoped by an UPDATE afterwards."""
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    who = applicant(960)
    issued(a1, pa, csa, who)
    sync(a1, central)
    rescoped: list[str] = []
    scope_after = scope_module._scope
    monkeypatch.setattr(scope_module, "_scope", lambda conn, ids, *a, **k: rescoped.extend(ids) or scope_after(
        conn, ids, *a, **k))
    take(a1, pa, csa, "temp_loss", who, now=MONDAY + dt.timedelta(days=12))
    sync(a1, central)  # the loss report is new; the card it names came in the first push
    take(a1, pa, csa, "lift_loss", who, now=MONDAY + dt.timedelta(days=13))
    report = sync(a1, central)  # an update of a loss report and a card central holds
    assert report.quarantined == 0
    kinds, wrong = logged_kinds_and_misscoped(central)
    assert {"loss_report", "audit of loss_report", "card", "audit of card"} <= kinds
    assert wrong == [] and rescoped == []


@needs_pg
def test_a_first_push_takes_the_owner_of_new_rows_from_their_inserts(tmp_path, policy, central, monkeypatch):
    """A first push of a person with a card and a case, and their audit entries: central writes these rows as
    their inserts give them, so the person the inserts name is their scope, with no look at the merged rows
    (#29); every change still ends up scoped as its row says."""
    a1, pa, csa = window_station(tmp_path, policy, A, "1", "wang")
    issued(a1, pa, csa, applicant(970))
    looked_at: list[dict] = []
    scopes_of = scope_module.scopes_of
    monkeypatch.setattr(scope_module, "scopes_of",
                        lambda conn, changes, *a: looked_at.extend(changes) or scopes_of(conn, changes, *a))
    report = sync(a1, central)
    assert report.quarantined == 0 and report.pushed > 0
    kinds, wrong = logged_kinds_and_misscoped(central)
    assert {"card", "case", "audit of card", "audit of case"} <= kinds
    assert wrong == []
    assert [(c["table_name"], c["row_id"]) for c in looked_at if scope_module._needs_row(c)] == []
