"""audit hash chain (audit_seal, and audit_head centrally); existing entries sealed in the order they were written

The chain's rule is frozen here as it was when this revision was written (shebao_desk.changes.audit_chain
holds the living copy): a later change there must not change what this migration did.

Revision ID: 0014
Revises: 0013
"""
import datetime as dt
import hashlib
import json

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_seal',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('audit_id', sa.String(length=36), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_seal')),
    sa.UniqueConstraint('audit_id', name=op.f('uq_audit_seal_audit_id'))
    )
    op.create_table('audit_head',
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('origin', name=op.f('pk_audit_head'))
    )
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return  # the central database keeps heads (audit_head), not a chain of its own
    table = sa.table('audit_entry', *(sa.column(f) for f in FIELDS))
    rows = [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(sa.text('at'), sa.text('id')))]
    for row in rows:  # JSON columns come back as text through this bare table
        for name in ('before', 'after'):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    previous, seals = GENESIS, []  # audit_seal was created just above: the chain starts here
    for row in rows:
        previous = _link(previous, row)
        seals.append({'audit_id': row['id'], 'hash': previous})
    if seals:
        seal_table = sa.table('audit_seal', sa.column('audit_id'), sa.column('hash'))
        conn.execute(seal_table.insert(), seals)


# --- the chain's rule as of this revision (a copy, not an import) ---

GENESIS = "0" * 64
FIELDS = ("id", "at", "clerk_id", "workstation", "action", "table_name", "row_id", "before", "after")


def _at(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _link(previous, entry):
    values = {k: entry.get(k) for k in FIELDS}
    values["at"] = _at(values["at"])
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(previous.encode() + b"\n" + canonical).hexdigest()


def downgrade() -> None:
    op.drop_table('audit_head')
    op.drop_table('audit_seal')
