"""A restore from backup as an admin asks for it: credentials checked, the restore audited.

The admin is checked against the current store, or against the backup when the current
store is missing or damaged (the case a restore exists for). The restore itself is
:func:`shebao_desk.store.backup.restore`; this adds who asked, in the restored store's trail.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from shebao_desk.changes.audit import record_event
from shebao_desk.changes.audit_chain import RESTORED
from shebao_desk.errors import StoreError
from shebao_desk.services.admin_auth import require_admin
from shebao_desk.store import anchor
from shebao_desk.store import state
from shebao_desk.store.backup import backup_key, online_copy, restore, verify_backup
from shebao_desk.store.database import open_store, quick_check
from shebao_desk.store.keystore import parse_recovery


def restore_as_admin(db: Path, source: Path, args: argparse.Namespace) -> Path | None:
    """Restore after an admin has shown credentials; returns where the old store was kept."""
    recovery = getattr(args, "recovery_key", None)
    recovery = parse_recovery(recovery) if recovery else None
    skey = backup_key(db, source, recovery)
    verify_backup(source, skey)
    try:
        usable = db.exists() and not quick_check(db)
    except StoreError:
        usable = False
    with tempfile.TemporaryDirectory() as tmp:
        if usable:
            judge = open_store(db)
        else:
            copy = Path(tmp) / "judge.sqlite3"
            online_copy(source, copy, skey, remember=False)
            judge = open_store(copy, key=skey, encrypt=False)
        try:
            admin = require_admin(judge, args, first_admin_ok=True)  # a store with no admin has no one to ask
        finally:
            judge.close()
    kept = restore(db, source, recovery)
    record_restore(db, source, kept, admin.id if admin else None, getattr(args, "workstation", None) or "")
    return kept


def record_restore(db: Path, source: Path, kept: Path | None, admin_id: str | None, workstation: str = "") -> None:
    """The restore in the restored store's trail: who, from where, and the incarnation it began."""
    anchor.forget(db)  # older on purpose: the unit below anchors the restored state, flag and all
    store = open_store(db)
    try:
        with store.unit(admin_id, workstation, "db restore") as s:
            # The new incarnation travels with its reason: a receiver of this site's bundles accepts the
            # renumbered ones only with this record (sync.acceptance).
            incarnation = int(state.get(s.connection(), state.INCARNATION, "0") or "0")
            record_event(s, "store", "restore", {"from": str(source), "kept": str(kept) if kept else None,
                                                 "incarnation": incarnation})
            state.put(s.connection(), RESTORED, "1")  # the chain is shorter on purpose: central is told at next sync
    finally:
        store.close()
