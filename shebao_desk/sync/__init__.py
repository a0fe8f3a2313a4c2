"""Sync: the change log between copies — the central PostgreSQL, signed offline bundles, scopes, status.

Every write appends changes (row, fields, hybrid logical clock, origin) to ``sync_change``
in the same transaction (:mod:`shebao_desk.changes.capture`). Changes travel to the central
database (:mod:`central`) or in signed files (:mod:`bundle`) and are merged field by field
(:mod:`shebao_desk.changes.merge`), the same way everywhere, so every copy converges whatever
order changes arrive in.
"""
