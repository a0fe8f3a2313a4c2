"""central scope: each change's scope on the central log, window memberships and per-window streams

Central (PostgreSQL) only: a workstation's SQLite store pulls from these but never holds them.

Revision ID: 0018
Revises: 0014
Create Date: 2026-11-30 06:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # A person's id, "c:<clerk id>", "w:<window>" or "*" (shared by every window); see sync/scope.py.
    op.add_column('sync_change', sa.Column('scope', sa.String(length=40), nullable=True))
    op.create_index('ix_sync_change_scope', 'sync_change', ['scope', 'seq'])
    op.create_table('scope_origin',
                    sa.Column('origin', sa.String(length=16), primary_key=True),
                    sa.Column('window_code', sa.String(length=16), nullable=False))
    op.create_table('scope_member',
                    sa.Column('window_code', sa.String(length=16), primary_key=True),
                    sa.Column('key', sa.String(length=40), primary_key=True))
    op.create_index('ix_scope_member_key', 'scope_member', ['key'])
    op.create_table('sync_scope',
                    sa.Column('pos', sa.BigInteger(), sa.Identity(), primary_key=True),
                    sa.Column('window_code', sa.String(length=16), nullable=False),
                    sa.Column('change_seq', sa.BigInteger(), nullable=False))
    op.create_index('ix_sync_scope_window_pos', 'sync_scope', ['window_code', 'pos'])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table('sync_scope')
    op.drop_table('scope_member')
    op.drop_table('scope_origin')
    op.drop_index('ix_sync_change_scope', 'sync_change')
    op.drop_column('sync_change', 'scope')
