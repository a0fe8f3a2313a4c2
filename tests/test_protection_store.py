"""The store knows itself: application id, foreign files refused untouched, quick_check with a clear message."""

from __future__ import annotations

import hashlib

import pytest

from shebao_desk.store.backup import backup, default_backup_dir
from shebao_desk.errors import StoreError
from shebao_desk.store.database import APPLICATION_ID, open_store, connect_file


def test_a_new_store_carries_the_application_id(store):
    with connect_file(store.path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID == 0x53484244
    plain = open_store(store.path.with_name("plain.sqlite3"), encrypt=False)
    assert plain.path.read_bytes()[68:72] == b"SHBD"  # the header field, as any tool reads it
    plain.close()


def test_another_programs_sqlite_file_is_refused_and_left_untouched(tmp_path):
    foreign = tmp_path / "contacts.db"
    with connect_file(foreign) as conn:
        conn.execute("create table contact (name text)")
        conn.execute("insert into contact values ('x')")
    before = hashlib.sha256(foreign.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="不是社保卡工作台的数据库"):
        open_store(foreign)
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == before


def test_a_file_with_another_application_id_is_refused(tmp_path):
    other = tmp_path / "other.db"
    with connect_file(other) as conn:
        conn.execute("PRAGMA application_id=1234")
    with pytest.raises(StoreError, match="不是社保卡工作台的数据库"):
        open_store(other)


def test_a_store_from_before_the_id_is_adopted(tmp_path, store):
    with connect_file(store.path) as conn:
        conn.execute("PRAGMA application_id=0")
    store.close()
    open_store(store.path).close()
    with connect_file(store.path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_not_a_database_is_a_clear_error_naming_the_backup_folder(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 300)
    with pytest.raises(StoreError) as err:
        open_store(junk)
    assert str(default_backup_dir()) in err.value.message and "db restore" in err.value.message


def _corrupt(path):
    """Overwrite the middle of a table's page, as a failing disk would."""
    with connect_file(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("select rootpage from sqlite_master where name='audit_entry'").fetchone()[0]
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    data = bytearray(path.read_bytes())
    start = (page - 1) * size + 8
    data[start:start + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))


def test_quick_check_at_gui_start_and_before_backup(tmp_path, store, clerk_and_site):
    store.close()
    _corrupt(store.path)
    with pytest.raises(StoreError) as err:
        open_store(store.path, check=True)  # what db check does (the GUI checks behind its login form)
    assert "已损坏" in err.value.message and str(default_backup_dir()) in err.value.message
    with pytest.raises(StoreError, match="已损坏"):
        backup(store.path, tmp_path / "b.sqlite3")
    assert not (tmp_path / "b.sqlite3").exists()


def test_a_store_from_a_newer_program_is_refused_with_a_plain_message(store):
    with connect_file(store.path) as conn:
        conn.execute("UPDATE alembic_version SET version_num='9999'")
    store.close()
    with pytest.raises(StoreError, match="更新版本"):
        open_store(store.path)


def _corrupt_table(path, table, at=8):
    """Damage ``table``'s root page only: the store still opens; only a check (or a read of that table) finds it.
    (An encrypted page fails its HMAC wherever it changes; a plain one must lose its header, ``at=0``.)"""
    with connect_file(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("select rootpage from sqlite_master where name=?", (table,)).fetchone()[0]
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    data = bytearray(path.read_bytes())
    data[(page - 1) * size + at:(page - 1) * size + at + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))


def test_damage_a_later_check_finds_stops_every_write_and_reads_go_on(store, clerk_and_site, caplog):
    from sqlalchemy import select, text
    from shebao_desk.models import Clerk
    store.close()
    _corrupt_table(store.path, "card")
    opened = open_store(store.path)  # the GUI's start: no check on the way in
    try:
        with caplog.at_level("ERROR", logger="shebao_desk.store.database"):
            damage = opened.check_health()
        assert damage is not None and "已损坏" in damage.message and str(default_backup_dir()) in damage.message
        assert any("quick_check of" in r.getMessage() and "malformed" in r.getMessage() for r in caplog.records)
        with pytest.raises(StoreError, match="已损坏"):
            with opened.unit(None, "A", "rename") as s:
                s.scalar(select(Clerk)).display_name = "改过"
        with pytest.raises(StoreError, match="已损坏"):  # a write outside a unit, as sync and bundles make
            with opened.engine.begin() as conn:
                conn.execute(text("UPDATE clerk SET display_name = '改过'"))
        with opened.read() as s:
            assert s.scalar(select(Clerk.display_name)) == "王经办"
    finally:
        opened.close()


def test_a_check_stopped_by_closing_gives_no_verdict(store, clerk_and_site):
    store.close()
    _corrupt_table(store.path, "card")
    opened = open_store(store.path)
    opened.close()  # the program closes before its background check ran
    assert opened.check_health() is None and opened.damage is None


def test_a_damaged_plain_store_is_not_encrypted_in_place(tmp_path):
    import hashlib
    plain = open_store(tmp_path / "old.sqlite3", encrypt=False)
    with plain.unit(None, "A", "setup") as s:
        from shebao_desk.services.auth import create_clerk
        from shebao_desk.models import Role
        create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
    plain.close()
    _corrupt_table(plain.path, "card", at=0)
    before = hashlib.sha256(plain.path.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="已损坏"):
        open_store(plain.path)  # encryption in place would copy what it can read and drop the rest
    assert hashlib.sha256(plain.path.read_bytes()).hexdigest() == before
