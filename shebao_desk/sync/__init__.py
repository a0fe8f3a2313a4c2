"""Sync: change capture, merge rules, the central PostgreSQL and signed bundles.

Every write appends changes (row, fields, hybrid logical clock, origin) to
``sync_change`` in the same transaction (:mod:`capture`). Changes travel to the
central database (:mod:`central`) or in signed files (:mod:`bundle`) and are
merged field by field (:mod:`merge`), the same way everywhere, so every copy
converges whatever order changes arrive in.
"""

# Tables that are this workstation's own business and never travel.
LOCAL_TABLES = frozenset({"site", "audit_seal", "audit_head", "sync_change", "sync_clock", "sync_state", "sync_peer", "sync_conflict",
                          "sync_quarantine", "sync_workstation",
                          "alembic_version"})
