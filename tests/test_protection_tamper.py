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
    open_store(path).close()  # the program has run on this store: its state is anchored outside it
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
    from shebao_desk.store import anchor
    keystore = Keystore(db)  # a store that old was never anchored either
    values = keystore.load()
    values.pop(anchor.ANCHOR_KEY)
    keystore.save(values)
    anchor.forget(db)
    from shebao_desk.store import schema
    schema.downgrade(db, keystore.db_key(create=False), "0013")  # the store as 0013 (before the chain) left it
    done = check(db)  # opening migrates: 0014 seals the existing trail in the order it was written
    assert done.returncode == 0, done.stdout + done.stderr
    assert one(db, "select count(*) from audit_seal")[0] == one(db, "select count(*) from audit_entry")[0] > 100


# --- the probe's 17 tamperings (F7: T01–T17) and a rollback, each reported by db check ---------------
# T01 (person name), T03 (card made valid), T04 (audit row deleted) are the tests above; the rest here.
# The intruder holds the store key (a copy of the key file), not the keystore's anchor key.

def rewrite_chain(conn) -> None:
    """What an intruder with the store key does to hide an edit: renumber the seals of the entries
    still there, and recompute every hash from the first."""
    from shebao_desk.changes.audit_chain import FIELDS, GENESIS, link
    rows = conn.execute("select s.seq, s.audit_id from audit_seal s join audit_entry e on e.id = s.audit_id "
                        "order by s.seq").fetchall()
    conn.execute("delete from audit_seal")
    previous = GENESIS
    for seq, (_, audit_id) in enumerate(rows, start=1):
        entry = dict(zip(FIELDS, conn.execute(f"select {', '.join(FIELDS)} from audit_entry where id = ?",
                                              (audit_id,)).fetchone(), strict=True))
        entry["before"] = json.loads(entry["before"]) if entry["before"] else None
        entry["after"] = json.loads(entry["after"]) if entry["after"] else None
        previous = link(previous, entry)
        conn.execute("insert into audit_seal (seq, audit_id, hash) values (?, ?, ?)", (seq, audit_id, previous))


def test_t02_case_number_and_status_edited(db):
    number = one(db, "select number from \"case\" where status='completed' limit 1")[0]
    edit(db, f"update \"case\" set number='SZ01A-20200101-9999', status='accepted' where number='{number}'")
    _reported(db, "SZ01A-20200101-9999")


def test_t05_audit_row_and_its_seal_deleted(db):
    seq, aid = one(db, "select seq, audit_id from audit_seal order by seq limit 1 offset 39")
    edit(db, f"delete from audit_entry where id='{aid}'", f"delete from audit_seal where seq={seq}")
    _reported(db, "audit_chain", f"第 {seq}—{seq} 号缺失")


def test_t06_two_seals_swapped(db):
    (s1, a1), (s2, a2) = [tuple(r) for r in (one(db, "select seq, audit_id from audit_seal where seq=30"),
                                             one(db, "select seq, audit_id from audit_seal where seq=31"))]
    edit(db, f"update audit_seal set audit_id='x' where seq={s1}", f"update audit_seal set audit_id='{a1}' where seq={s2}",
         f"update audit_seal set audit_id='{a2}' where seq={s1}")
    _reported(db, "audit_chain")


@pytest.mark.parametrize("keep", [0.9, 0.5])  # T07 the unsynced tail; T08 past what central holds
def test_t07_t08_trail_cut_off_at_the_end(db, keep):
    top = one(db, "select max(seq) from audit_seal")[0]
    cut = int(top * keep)
    edit(db, f"delete from audit_entry where id in (select audit_id from audit_seal where seq > {cut})",
         f"delete from audit_seal where seq > {cut}")
    _reported(db, "anchor", f"只到第 {cut} 号")


@pytest.mark.parametrize("where", [0.3, 0.97])  # T09 an old entry; T10 one of the unsynced tail
def test_t09_t10_audit_edited_and_every_hash_recomputed(db, where):
    top = one(db, "select max(seq) from audit_seal")[0]
    aid = one(db, f"select audit_id from audit_seal where seq = {int(top * where)}")[0]
    with connect_file(db) as conn:
        conn.execute(f"update audit_entry set workstation='Z' where id='{aid}'")
        rewrite_chain(conn)
    out = _reported(db, "anchor", "被改写")
    assert "[audit_chain]" not in out  # the chain itself is whole again: only the anchor tells


def test_t11_card_uncancelled_with_a_forged_and_sealed_audit_entry(db):
    from shebao_desk.changes.audit_chain import link
    cid = one(db, "select id from card where status='cancelled' limit 1")[0]
    forged = {"id": str(uuid.uuid4()), "at": "2026-03-10 01:00:00.000000", "clerk_id": None, "workstation": "A",
              "action": "fix:update", "table_name": "card", "row_id": cid, "before": {"status": "cancelled"},
              "after": {"status": "normal"}}
    with connect_file(db) as conn:
        conn.execute(f"update card set status='normal', void_at=NULL where id='{cid}'")
        conn.execute("insert into audit_entry (id, created_at, updated_at, at, clerk_id, workstation, action, table_name, "
                     "row_id, before, after) values (?, ?, ?, ?, NULL, 'A', ?, 'card', ?, ?, ?)",
                     (forged["id"], forged["at"], forged["at"], forged["at"], forged["action"], cid,
                      json.dumps(forged["before"]), json.dumps(forged["after"])))
        seq, previous = conn.execute("select seq, hash from audit_seal order by seq desc limit 1").fetchone()
        conn.execute("insert into audit_seal (seq, audit_id, hash) values (?, ?, ?)",
                     (seq + 1, forged["id"], link(previous, forged)))
    _reported(db, cid)


def test_t12_rewrite_and_a_restored_flag_set_by_hand(db):
    aid = one(db, "select audit_id from audit_seal where seq = 40")[0]
    with connect_file(db) as conn:
        conn.execute(f"update audit_entry set workstation='Z' where id='{aid}'")
        rewrite_chain(conn)
        conn.execute("insert into sync_state (key, value) values ('audit_chain_restored', '1')")
    _reported(db, "被改写", "不是由恢复操作设置的")


def test_t13_trail_cut_and_a_restored_flag_set_by_hand(db):
    top = one(db, "select max(seq) from audit_seal")[0]
    edit(db, f"delete from audit_entry where id in (select audit_id from audit_seal where seq > {top // 2})",
         f"delete from audit_seal where seq > {top // 2}",
         "insert into sync_state (key, value) values ('audit_chain_restored', '1')")
    _reported(db, "只到第", "不是由恢复操作设置的")


def test_t14_every_audit_row_and_seal_deleted(db):
    edit(db, "delete from audit_entry", "delete from audit_seal")
    _reported(db, "anchor", "只到第 0 号")


def test_t15_a_persons_change_log_rows_deleted(db):
    pid = one(db, "select row_id from sync_change where table_name='person' order by seq limit 1 offset 5")[0]
    edit(db, f"delete from sync_change where row_id='{pid}'")
    _reported(db, "change_log", "缺失")


def test_t15_the_change_log_cut_at_its_end(db):
    top = one(db, "select max(seq) from sync_change")[0]
    edit(db, f"delete from sync_change where seq > {top - 50}")
    _reported(db, "change_log", f"只到第 {top - 50} 号")


def test_t16_a_completed_case_and_its_audit_rows_deleted_hashes_recomputed(db):
    cid, number = one(db, "select id, number from \"case\" where status='completed' and id not in "
                          "(select case_id from case_attachment) limit 1")
    with connect_file(db) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute(f"delete from \"case\" where id='{cid}'")
        conn.execute(f"delete from audit_entry where row_id='{cid}'")
        rewrite_chain(conn)
    _reported(db, "anchor")


def test_t17_phone_edited_with_its_audit_entry_and_hashes_recomputed(db):
    pid = one(db, "select id from person limit 1")[0]
    with connect_file(db) as conn:
        conn.execute(f"update person set phone='13999999999' where id='{pid}'")
        conn.execute(f"update audit_entry set after=json_set(after, '$.phone', '13999999999') "
                     f"where row_id='{pid}' and action like '%insert'")
        rewrite_chain(conn)
    _reported(db, "anchor", "被改写")


def test_rollback_to_an_older_copy_of_the_whole_store(db, tmp_path):
    older = tmp_path / "older.sqlite3"
    with connect_file(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(db, older)
    store = open_store(db)
    seed(store, load_policy(), 3, workstation="A")  # work done after the copy was taken
    store.close()
    for side in ("-wal", "-shm"):
        db.with_name(db.name + side).unlink(missing_ok=True)
    shutil.copyfile(older, db)
    _reported(db, "anchor", "旧的副本")


def test_an_audited_restore_is_not_a_tampering(db, tmp_path):
    from shebao_desk.store.backup import backup
    copy = backup(db, tmp_path / "b.sqlite3")
    store = open_store(db)
    seed(store, load_policy(), 2, workstation="A")
    store.close()
    done = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(db), "db", "restore", str(copy)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = check(db)
    assert result.returncode == 0, result.stdout + result.stderr
