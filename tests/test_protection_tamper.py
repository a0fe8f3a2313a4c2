"""Direct edits with sqlite3 — update, delete, insert in people, cards, cases and the audit trail —
are each reported by ``db check`` (exit 1), naming what changed; an untouched store passes (exit 0)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from shebao_desk.services.demo import seed
from shebao_desk.store.keystore import DB_KEY, Keystore
from shebao_desk.config.policy import load_policy
from shebao_desk.store.database import open_store, connect_file

pytestmark = pytest.mark.slow  # every test runs the CLI as a subprocess on a tampered store


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One encrypted seeded store for the module, and its key."""
    folder = tmp_path_factory.mktemp("seeded")
    path = folder / "s.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_KEYS", str(folder / "keys"))
        mp.setenv("SHEBAO_KEYRING", "0")
        store = open_store(path)
        seed(store, load_policy(), 30, workstation="A")
        store.close()
        with connect_file(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        key = Keystore(path).db_key(create=False)
    assert key is not None
    return path, key


@pytest.fixture
def db(seeded, tmp_path):
    """A copy of it, its key filed in this test's keystore (the intruder here has the key)."""
    source, key = seeded
    path = tmp_path / "s.sqlite3"
    shutil.copyfile(source, path)
    Keystore(path).put(DB_KEY, key.hex())
    return path


def check(db) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SHEBAO_DB"}
    return subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(db), "db", "check"],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def edit(db, *sql, params=()):
    """As an intruder would: the sqlite3 module, no program code."""
    with connect_file(db) as conn:
        for statement in sql:
            conn.execute(statement, params) if params else conn.execute(statement)


def one(db, sql):
    with connect_file(db) as conn:
        return conn.execute(sql).fetchone()


def test_untouched_store_passes(db):
    done = check(db)
    assert done.returncode == 0, done.stdout + done.stderr


def _reported(db, *words):
    done = check(db)
    assert done.returncode == 1, done.stdout + done.stderr
    for word in words:
        assert word in done.stdout, done.stdout
    assert "Traceback" not in done.stderr
    return done.stdout


def test_person_name_edited(db):
    pid, name = one(db, "select id, name from person limit 1")
    edit(db, f"update person set name='改名字' where id='{pid}'")
    assert "name" in _reported(db, "rederive", pid)


def test_person_phone_edited(db):
    pid = one(db, "select id from person limit 1")[0]
    edit(db, f"update person set phone='13999999999' where id='{pid}'")
    _reported(db, "phone", pid)


def test_cancelled_person_uncancelled(db):
    pid = one(db, "select id from person where status='cancelled' limit 1")[0]
    edit(db, f"update person set status='active', cancelled_at=NULL where id='{pid}'")
    _reported(db, "status", "cancelled", pid)


def test_person_deleted_with_everything_that_names_them(db):
    pid = one(db, "select id from person where status='active' limit 1")[0]
    edit(db, "PRAGMA foreign_keys=OFF", f"delete from loss_report where card_id in (select id from card where person_id='{pid}')",
         f"delete from \"case\" where person_id='{pid}'", f"delete from card where person_id='{pid}'",
         f"delete from person where id='{pid}'")
    _reported(db, "被直接删除", pid)


def test_person_inserted(db):
    edit(db, "insert into person (id, created_at, updated_at, id_number, name, sex, ethnicity, birth_date, birthplace, "
             "phone, address, status) values (?, '2026-03-09 01:00:00', '2026-03-09 01:00:00', '610102198005170019', "
             "'假人', '1', '01', '1980-05-17', '', '', '', 'active')", params=(str(uuid.uuid4()),))
    _reported(db, "没有任何审计记录", "6101**********0019")


def test_card_status_made_valid_again(db):
    cid = one(db, "select id from card where status in ('cancelled', 'formally_lost', 'replaced') limit 1")[0]
    edit(db, f"update card set status='normal', void_at=NULL where id='{cid}'")
    _reported(db, "status", cid)


def test_card_number_edited(db):
    cid = one(db, "select id from card where status='normal' limit 1")[0]
    edit(db, f"update card set card_number='X00000000' where id='{cid}'")
    _reported(db, "card_number", "X00000000")


def test_card_deleted(db):
    cid = one(db, "select id from card where id not in (select card_id from \"case\" where card_id is not null) "
                  "and id not in (select new_card_id from \"case\" where new_card_id is not null) "
                  "and id not in (select card_id from loss_report) limit 1")
    cid = cid[0] if cid else one(db, "select id from card limit 1")[0]
    edit(db, "PRAGMA foreign_keys=OFF", f"delete from card where id='{cid}'")
    _reported(db, "被直接删除", cid)


def test_cancellation_case_deleted(db):
    number = one(db, "select number from \"case\" where business='cancel' limit 1")[0]
    edit(db, "PRAGMA foreign_keys=OFF", f"delete from \"case\" where number='{number}'")
    _reported(db, "被直接删除", number)


def test_case_backdated(db):
    number = one(db, "select number from \"case\" limit 1")[0]
    edit(db, f"update \"case\" set accepted_at='2020-01-01 00:00:00.000000' where number='{number}'")
    _reported(db, "accepted_at", number)


def test_case_inserted(db):
    row = one(db, "select person_id, accepted_by from \"case\" limit 1")
    edit(db, "insert into \"case\" (id, created_at, updated_at, number, business, mode, person_id, agent_name, "
             "agent_id_number, agent_relation, agent_phone, materials, missing, reason, fee, status, accepted_by, "
             "accepted_at, workstation) values (?, '2026-03-09 01:00:00', '2026-03-09 01:00:00', 'FORGED-0001', "
             "'apply', 'self', ?, '', '', '', '', '[]', '[]', '', 0, 'completed', ?, '2026-03-09 01:00:00', 'A')",
         params=(str(uuid.uuid4()), row[0], row[1]))
    _reported(db, "FORGED-0001", "没有任何审计记录")


def test_audit_entry_rewritten(db):
    aid = one(db, "select id from audit_entry where table_name='person' limit 1")[0]
    edit(db, f"update audit_entry set after=json_set(after, '$.name', '别人') where id='{aid}'")
    _reported(db, "audit_chain", aid)


def test_audit_entry_deleted(db):
    aid = one(db, "select id from audit_entry where table_name='case' limit 1 offset 3")[0]
    edit(db, f"delete from audit_entry where id='{aid}'")
    _reported(db, "audit_chain", aid, "被删除")


def test_whole_audit_trail_deleted(db):
    edit(db, "delete from audit_entry")
    _reported(db, "audit_chain", "没有任何审计记录")


def test_audit_entry_forged(db):
    pid = one(db, "select id from person limit 1")[0]
    forged = str(uuid.uuid4())
    edit(db, "insert into audit_entry (id, created_at, updated_at, at, clerk_id, workstation, action, table_name, "
             "row_id, before, after) values (?, '2026-03-09 01:00:00', '2026-03-09 01:00:00', '2099-01-01 00:00:00', "
             "NULL, 'A', 'x:update', 'person', ?, NULL, ?)", params=(forged, pid, json.dumps({"phone": "1"})))
    _reported(db, "audit_chain", forged, "不在审计链中")


def test_audit_edit_covered_by_rewriting_the_seal(db):
    """An intruder who rewrites an entry and recomputes its seal still breaks the next link."""
    from shebao_desk.changes.audit_chain import FIELDS, link
    with connect_file(db) as conn:
        seq, aid = conn.execute("select seq, audit_id from audit_seal order by seq limit 1 offset 5").fetchone()
        conn.execute(f"update audit_entry set workstation='Z' where id='{aid}'")
        prev = conn.execute(f"select hash from audit_seal where seq={seq - 1}").fetchone()[0]
        entry = dict(zip(FIELDS, conn.execute(f"select {', '.join(FIELDS)} from audit_entry where id='{aid}'").fetchone(),
                         strict=True))
        entry["before"] = json.loads(entry["before"]) if entry["before"] else None
        entry["after"] = json.loads(entry["after"]) if entry["after"] else None
        conn.execute(f"update audit_seal set hash='{link(prev, entry)}' where seq={seq}")
    _reported(db, "audit_chain", f"第 {seq + 1} 号")


def test_loss_report_lifted_directly(db):
    lid = one(db, "select id from loss_report where lifted_at is null limit 1")[0]
    edit(db, f"update loss_report set lifted_at='2026-03-10 01:00:00.000000' where id='{lid}'")
    _reported(db, "lifted_at", lid)


def test_a_value_no_enum_knows_is_reported_not_a_crash(db):
    pid = one(db, "select id from person where status='cancelled' limit 1")[0]
    edit(db, f"update person set status='alive' where id='{pid}'")
    from shebao_desk.services.rederive import compare
    store = open_store(db)
    with store.engine.connect() as conn:
        found = compare(conn)
    store.close()
    assert any(pid in detail and "'alive'" in detail for _, detail in found)


def test_a_store_that_received_a_bundle_passes_and_seals_what_it_received(tmp_path):
    from shebao_desk.services.invariants import check_store
    from shebao_desk.store.site_identity import ensure_site
    from shebao_desk.sync.bundle import export_bundle, import_bundle, own_key, trust
    policy = load_policy()
    a, b = open_store(tmp_path / "a.sqlite3"), open_store(tmp_path / "b.sqlite3")
    seed(a, policy, 8, workstation="A")
    with b.unit(None, "B", "setup") as s:
        ensure_site(s, policy.site, "B")
    trust(b, *own_key(a))  # pinned beforehand, as the admins do over the phone
    trust(a, *own_key(b))
    import_bundle(b, export_bundle(a, tmp_path / "a.json").path)
    with b.read() as s:
        assert [str(f) for f in check_store(s)] == []
    a.close(), b.close()
    assert one(tmp_path / "b.sqlite3", "select count(*) from audit_seal")[0] == \
        one(tmp_path / "b.sqlite3", "select count(*) from audit_entry")[0] > 50


def test_a_store_from_before_the_chain_is_sealed_by_its_migration(db):
    edit(db, "DROP TABLE audit_seal", "DROP TABLE audit_head", "DROP INDEX IF EXISTS ix_case_open",
         "UPDATE alembic_version SET version_num='0013'")  # the revision before 0014 (0016's index follows it)
    done = check(db)  # opening migrates: 0014 seals the existing trail in the order it was written
    assert done.returncode == 0, done.stdout + done.stderr
    assert one(db, "select count(*) from audit_seal")[0] == one(db, "select count(*) from audit_entry")[0] > 100
