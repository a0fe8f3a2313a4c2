import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from shebao_desk.store.backup import backup, restore
from shebao_desk.errors import StoreError
from shebao_desk.models import AuditEntry, Base, Clerk, Person
from shebao_desk.store.database import connect_file, open_store, resolve_db_path

from conftest import applicant, take


def test_migration_from_empty_to_head_matches_the_models(tmp_path):
    store = open_store(tmp_path / "m.sqlite3")
    assert store.current_revision() == store.head_revision()
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def test_pragmas_wal_foreign_keys_busy_timeout(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_db_path_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SHEBAO_DB", str(tmp_path / "env.sqlite3"))
    assert resolve_db_path(str(tmp_path / "cli.sqlite3")) == tmp_path / "cli.sqlite3"
    assert resolve_db_path(None) == tmp_path / "env.sqlite3"
    monkeypatch.delenv("SHEBAO_DB")
    assert resolve_db_path(None).name == "shebao.sqlite3"


def test_every_change_is_audited_in_the_same_transaction(store, policy, clerk_and_site):
    clerk, _ = clerk_and_site
    outcome = take(store, policy, clerk_and_site, "apply", applicant())
    with store.read() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.row_id == outcome.case.id)).all()
        assert len(entries) == 1
        entry = entries[0]
        assert entry.clerk_id == clerk.id and entry.workstation == "A"
        assert entry.action == "test apply:insert"
        assert entry.after["number"] == outcome.case.number and entry.before is None


def test_a_failed_action_leaves_neither_change_nor_audit(store, policy, clerk_and_site):
    clerk, site = clerk_and_site
    with store.read() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(RuntimeError):
        with store.unit(clerk.id, "A", "doomed") as s:
            s.add(Person(id_number="611002198005171234", name="x", sex="1", birth_date=__import__("datetime").date(1980, 5, 17)))
            s.flush()
            raise RuntimeError("crash mid-action")
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert s.scalar(select(func.count()).select_from(Person)) == 0


def test_update_audit_has_before_and_after(store, policy, clerk_and_site):
    who = applicant()
    take(store, policy, clerk_and_site, "apply", who)
    take(store, policy, clerk_and_site, "info_change", who, changes={"phone": "13912345678"})
    with store.read() as s:
        person = s.scalar(select(Person))
        change = s.scalars(select(AuditEntry).where(AuditEntry.row_id == person.id,
                                                    AuditEntry.action.like("%update"))).one()
        assert change.before["phone"] == "13800000000" and change.after["phone"] == "13912345678"


def test_password_hash_never_in_the_audit(store, clerk_and_site):
    clerk, _ = clerk_and_site
    with store.read() as s:
        real_hash = s.get(Clerk, clerk.id).password_hash
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.table_name == "clerk",
                                                          AuditEntry.row_id == clerk.id)))
    assert entries, "creating a clerk must be audited (else this test proves nothing)"
    assert real_hash and real_hash != "***"
    for entry in entries:
        assert entry.after["password_hash"] == "***"
        assert real_hash not in str(entry.before) + str(entry.after)


def test_backup_and_restore_round_trip(store, policy, clerk_and_site, tmp_path):
    take(store, policy, clerk_and_site, "apply", applicant(1))
    copy = backup(store.path, tmp_path / "b" / "copy.sqlite3")
    take(store, policy, clerk_and_site, "apply", applicant(2))
    store.close()
    kept = restore(store.path, copy)
    assert kept is not None and kept.exists()
    with connect_file(store.path) as conn:
        assert conn.execute("select count(*) from person").fetchone()[0] == 1
    with connect_file(kept) as conn:
        assert conn.execute("select count(*) from person").fetchone()[0] == 2


def test_restore_refuses_a_file_that_is_not_a_store(store, tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError):
        restore(store.path, junk)
    with pytest.raises(StoreError):
        backup(store.path, junk)  # exists: never overwritten


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as exc:
        open_store(blocker / "sub" / "db.sqlite3")
    assert "无法" in exc.value.message
