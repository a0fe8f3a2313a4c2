"""A change the central database refuses is quarantined with its reason; the rest arrive; a fix lets it through."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from shebao_desk.services.site_setup import set_up_site
from shebao_desk.store.database import open_store
from shebao_desk.sync.central import BATCH, sync
from shebao_desk.sync.status import sync_status

from conftest import applicant, needs_pg, on_central, take

pytestmark = needs_pg


def central_names(url) -> set[str]:
    return on_central(url, lambda conn: set(conn.scalars(text("SELECT name FROM person"))))


@pytest.mark.slow
def test_a_refused_change_is_quarantined_and_the_rest_arrive(tmp_path, policy, central):
    store = open_store(tmp_path / "a.sqlite3")
    site = set_up_site(store, policy.site, "SZ01", "A", central_url=central, central_required=True)
    from shebao_desk.services.auth import create_clerk
    from shebao_desk.models import Role
    with store.unit(None, "A", "clerk") as s:
        clerk = create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
    names = ["赵一", "钱二", "拒收某", "孙四", "李五"]
    for i, name in enumerate(names):
        take(store, policy, (clerk, site), "apply", applicant(100 + i, name=name))
    admin = create_engine(central)
    with admin.begin() as conn:  # the central database refuses one person (forced for the test)
        conn.execute(text("ALTER TABLE person ADD CONSTRAINT forced_refusal CHECK (name <> '拒收某')"))

    report = sync(store, central)
    assert report.quarantined >= 1 and report.pushed > 0
    assert central_names(central) == set(names) - {"拒收某"}
    status = sync_status(store, 3)
    assert status.blocked == report.quarantined and status.text().startswith(f"同步受阻：{status.blocked} 条，原因 ")
    assert "中心数据库不接受" in status.text() or "所依赖" in status.text()

    again = sync(store, central)  # still refused: retried, still quarantined, nothing else stuck
    assert again.quarantined == report.quarantined and again.pushed == 0

    import os
    import subprocess
    import sys
    shown = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(tmp_path / "a.sqlite3"), "sync", "--status"],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}, check=False)
    assert shown.returncode == 0 and "同步受阻" in shown.stdout and "已隔离" in shown.stdout, shown.stdout + shown.stderr

    with admin.begin() as conn:  # the fix
        conn.execute(text("ALTER TABLE person DROP CONSTRAINT forced_refusal"))
    fixed = sync(store, central)
    assert fixed.quarantined == 0 and fixed.pushed == report.quarantined
    assert central_names(central) == set(names)
    assert sync_status(store, 3).blocked == 0 and "受阻" not in sync_status(store, 3).text()
    admin.dispose()
    store.close()


@pytest.mark.parametrize("batch", [BATCH, 1])
def test_what_would_not_fit_is_quarantined_before_it_is_sent(tmp_path, policy, central, batch):
    """A change too long for central is quarantined without a round trip, and the rest goes; in batches of one
    as well, where the batch of that change has nothing left to send (no push lock is taken for it, which is
    when the next batch is read otherwise)."""
    store = open_store(tmp_path / "a.sqlite3")
    site = set_up_site(store, policy.site, "SZ01", "A")
    from shebao_desk.services.auth import create_clerk
    from shebao_desk.models import Role
    with store.unit(None, "A", "clerk") as s:
        clerk = create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
    take(store, policy, (clerk, site), "apply", applicant(200, name="周六"))
    take(store, policy, (clerk, site), "apply", applicant(201, name="吴七"))
    with store.engine.begin() as conn:  # as an older version let through: a 51-character name in the log
        seq, values = conn.execute(text("SELECT seq, \"values\" FROM sync_change WHERE table_name = 'person' "
                                        "ORDER BY seq LIMIT 1")).one()
        values = json.loads(values) if isinstance(values, str) else values
        conn.execute(text("UPDATE sync_change SET \"values\" = :v WHERE seq = :s"),
                     {"v": json.dumps({**values, "name": "长" * 51}), "s": seq})
    report = sync(store, central, batch=batch)
    assert report.quarantined >= 1 and "姓名不能超过 50 个字（现为 51 个）" in report.reasons
    assert "吴七" in central_names(central)
    store.close()
