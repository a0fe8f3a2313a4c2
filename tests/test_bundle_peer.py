"""A pinned peer writes only its own (issue 24, item 4; probe cases 08, 43 and 44).

E is a site R has pinned: its key is genuine, so what it may sign is all that stands between
a compromised peer and R's store. Each refusal leaves R's store as it was.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from shebao_desk.config.policy import Policy
from shebao_desk.errors import ValidationError
from shebao_desk.models import Clerk, Role, Site
from shebao_desk.models.base import stable_uuid, utcnow
from shebao_desk.services.auth import create_clerk
from shebao_desk.store.database import Store, open_store
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.sync import bundle as B

from conftest import applicant, take


def site(tmp_path: Path, policy: Policy, workstation: str) -> tuple[Store, Clerk]:
    store = open_store(tmp_path / f"{workstation}.sqlite3")
    with store.unit(None, workstation, "setup") as s:
        ensure_site(s, policy.site, workstation, window_code="SZ01")
        clerk = create_clerk(s, f"clerk{workstation}".lower(), "经办", "passw0rd!", Role.CLERK)
    return store, clerk


@pytest.fixture
def pair(tmp_path: Path, policy: Policy):
    r, boss = site(tmp_path, policy, "A")
    with r.unit(None, "A", "admin") as s:
        create_clerk(s, "boss", "老板", "Corr3ct-Horse1", Role.ADMIN)
    e, e_clerk = site(tmp_path, policy, "B")
    B.trust(r, *B.own_key(e))
    B.trust(e, *B.own_key(r))  # bundles are sealed for their receiver: E pins R too
    first = B.export_bundle(e, tmp_path / "e1.bundle")
    B.import_bundle(r, first.path)
    yield r, e, e_clerk
    r.close()
    e.close()


def state_of(store: Store) -> str:
    """Every row of every table: a refused bundle changes none."""
    h = hashlib.sha256()
    with store.engine.connect() as conn:
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")):
            for row in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY 1')):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def craft(e: Store, tmp_path: Path, changes: list[dict[str, Any]], number: int, incarnation: int = 0) -> Path:
    """A bundle signed with E's own key and sealed for the site E pinned (R), as a compromised E could write it."""
    with e.engine.connect() as conn:
        seed = B.site_signing_key(conn).private_bytes_raw()
        receivers = B._receivers(conn, None)
    data = B.seal_bundle(origin="SZ01B", incarnation=incarnation, number=number, count=len(changes), seed=seed,
                         receivers=receivers, lines=B.change_lines(changes), created_at=utcnow().isoformat(),
                         window="SZ01")
    path = tmp_path / f"crafted-{number}-{uuid.uuid4().hex[:6]}.bundle"
    path.write_bytes(data)
    return path


def change(table: str, row_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"change_id": str(uuid.uuid4()), "table_name": table, "row_id": row_id,
            "hlc": f"{int(time.time() * 1000):013d}-00000-SZ01B", "origin": "SZ01B", "values": values}


def refused(r: Store, path: Path, *words: str) -> None:
    before = state_of(r)
    with pytest.raises(B.BundleError) as caught:
        B.import_bundle(r, path)
    for word in words:
        assert word in caught.value.message, caught.value.message
    assert state_of(r) == before


def audit(row_id: str, workstation: str, clerk_id: str | None) -> dict[str, Any]:
    now = utcnow().isoformat()
    entry = {"id": row_id, "created_at": now, "updated_at": now, "at": now, "clerk_id": clerk_id,
             "workstation": workstation, "action": "admin create-user:insert", "table_name": "clerk",
             "row_id": stable_uuid("clerk", "ghost"), "before": None, "after": {"username": "ghost"}}
    return change("audit_entry", row_id, entry)


def test_an_audit_entry_in_another_workstations_name_is_refused(pair, tmp_path: Path) -> None:
    """Probe case 08: R's admin 'boss' creating a user at R's workstation, signed by E."""
    r, e, _ = pair
    with r.read() as s:
        boss = s.scalar(select(Clerk.id).where(Clerk.username == "boss"))
    refused(r, craft(e, tmp_path, [audit(str(uuid.uuid4()), "A", boss)], 2), "以其他工作站")
    B.import_bundle(r, craft(e, tmp_path, [audit(str(uuid.uuid4()), "B", None)], 2))  # its own: taken


def test_a_clerk_whose_id_is_not_its_usernames_is_refused(pair, tmp_path: Path) -> None:
    r, e, _ = pair
    squat = str(uuid.uuid4())
    now = utcnow().isoformat()
    values = {"id": squat, "username": "boss", "display_name": "冒名", "created_at": now, "updated_at": now}
    refused(r, craft(e, tmp_path, [change("clerk", squat, values)], 2), "编号与用户名不符")


def test_a_name_card_squatting_a_username_gives_way_to_the_account_made_here(pair, tmp_path: Path) -> None:
    """Probe case 43: E sends a name card 'admin2'; R's admin then makes the account admin2 all the same."""
    r, e, _ = pair
    card_id, now = stable_uuid("clerk", "admin2"), utcnow().isoformat()
    values = {"id": card_id, "username": "admin2", "display_name": "x", "created_at": now, "updated_at": now}
    B.import_bundle(r, craft(e, tmp_path, [change("clerk", card_id, values)], 2))
    with r.unit(None, "A", "admin create-user") as s:
        made = create_clerk(s, "admin2", "二号管理员", "Corr3ct-Horse2", Role.ADMIN)
        assert made.id == card_id and made.active and made.password_hash


def test_a_name_card_of_a_clerk_with_work_here_keeps_its_username(pair, tmp_path: Path, policy: Policy) -> None:
    r, e, e_clerk = pair
    with e.read() as s:
        e_site = s.scalar(select(Site))
    take(e, policy, (e_clerk, e_site), "apply", applicant(810))
    B.import_bundle(r, B.export_bundle(e, tmp_path / "e2.bundle").path)
    with r.unit(None, "A", "admin create-user") as s:
        with pytest.raises(ValidationError) as caught:
            create_clerk(s, e_clerk.username, "冒名", "Corr3ct-Horse3", Role.ADMIN)
    assert "SZ01B" in caught.value.message


def test_a_new_incarnation_needs_the_restore_record_that_explains_it(pair, tmp_path: Path) -> None:
    """Probe case 44: incarnation 7, number 1, no restore behind it, would lock out E's genuine bundles."""
    r, e, _ = pair
    refused(r, craft(e, tmp_path, [audit(str(uuid.uuid4()), "B", None)], 1, incarnation=7), "恢复记录")
    record = audit(str(uuid.uuid4()), "B", None)
    record["values"].update(table_name="store", row_id="restore", action="db restore", after={"incarnation": 1})
    B.import_bundle(r, craft(e, tmp_path, [record], 1, incarnation=1))
    with r.engine.connect() as conn:
        assert conn.scalar(text("SELECT incarnation FROM sync_peer WHERE origin = 'SZ01B'")) == 1
