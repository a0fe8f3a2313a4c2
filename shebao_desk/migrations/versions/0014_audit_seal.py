"""audit hash chain (audit_seal, and audit_head centrally); existing entries sealed in the order they were written

Revision ID: 0014
Revises: 0003
"""
import json

from alembic import op
import sqlalchemy as sa
import shebao_desk.models.base


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
    sa.Column('updated_at', shebao_desk.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('origin', name=op.f('pk_audit_head'))
    )
    from shebao_desk.audit_chain import FIELDS, seal
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return  # the central database keeps heads (audit_head), not a chain of its own
    table = sa.table('audit_entry', *(sa.column(f) for f in FIELDS))
    rows = [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(sa.text('at'), sa.text('id')))]
    for row in rows:  # JSON columns come back as text through this bare table
        for name in ('before', 'after'):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    seal(conn, rows)


def downgrade() -> None:
    op.drop_table('audit_head')
    op.drop_table('audit_seal')
