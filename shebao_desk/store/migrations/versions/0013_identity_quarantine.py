"""identities, quarantine, pinned fingerprints and incarnations

Revision ID: 0013
Revises: 0015
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_quarantine',
    sa.Column('change_id', sa.String(length=36), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('row_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('detail', sa.String(length=2000), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('quarantined_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('change_id', name=op.f('pk_sync_quarantine'))
    )
    op.create_table('sync_workstation',
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=100), nullable=False),
    sa.Column('incarnation', sa.Integer(), nullable=False),
    sa.Column('last_hlc', sa.String(length=40), nullable=False),
    sa.Column('registered_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('origin', name=op.f('pk_sync_workstation'))
    )
    with op.batch_alter_table('sync_peer') as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('incarnation', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sync_peer') as batch_op:
        batch_op.drop_column('incarnation')
        batch_op.drop_column('fingerprint')
    op.drop_table('sync_workstation')
    op.drop_table('sync_quarantine')
