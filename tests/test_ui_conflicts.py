"""The supervisor's conflicts page: a two-valid-cards conflict flagged by a bundle merge, settled on screen."""

from __future__ import annotations

import dataclasses
import datetime as dt

from shebao_desk.services.auth import create_clerk
from shebao_desk.services.invariants import check_store
from shebao_desk.services.intake import find_person
from shebao_desk.models import Role
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import open_store
from shebao_desk.sync.bundle import export_bundle, import_bundle, own_key, trust

from conftest import MONDAY, applicant, take


def test_supervisor_settles_a_two_valid_cards_conflict_on_screen(make_window, qtbot, policy, tmp_path):
    window, ctx = make_window(monitor=False)
    other = open_store(tmp_path / "other.sqlite3")
    with other.unit(None, "1", "setup") as s:
        site = ensure_site(s, dataclasses.replace(policy.site, window_code="SZ02"), "1")
        clerk = create_clerk(s, "li", "李经办", "passw0rd!", Role.CLERK)
    who = applicant(150)
    take(ctx.store, policy, (ctx.clerk, ctx.site), "apply", who)
    take(other, policy, (clerk, site), "apply", who, now=MONDAY + dt.timedelta(minutes=9))
    trust(ctx.store, *own_key(other))  # fingerprints compared over the phone, both ways
    trust(other, *own_key(ctx.store))
    assert import_bundle(ctx.store, export_bundle(other, tmp_path / "o1.bundle").path).conflicts == 1
    with ctx.store.read() as s:
        assert [f.open_conflict for f in check_store(s)] == [True]
    page = window.show_page("conflicts")
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=10000)  # one line per valid card
    assert "一人有两张有效卡" in page.table.text(0, 0) and "待处理" in page.hint.text()
    kept = page.table.payloads[1][1].id
    page.table.selectRow(1)
    page.resolve.click()
    qtbot.waitUntil(lambda: "没有待处理" in page.hint.text(), timeout=10000)
    with ctx.store.read() as s:
        assert check_store(s) == []
        assert [c.id for c in find_person(s, who.id_number).cards if c.status.valid] == [kept]
    # The voiding travels: the other copy's merge settles the same conflict there too.
    import_bundle(other, export_bundle(ctx.store, tmp_path / "a1.bundle").path)
    with other.read() as s:
        assert check_store(s) == []
        assert [c.id for c in find_person(s, who.id_number).cards if c.status.valid] == [kept]
    other.close()
