"""parked changes (waiting for a row they depend on) and where each registered store lives

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_parked',
    sa.Column('change_id', sa.String(length=36), nullable=False),
    sa.Column('waits_for', sa.String(length=80), nullable=False),
    sa.Column('parked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('change_id', name=op.f('pk_sync_parked'))
    )
    with op.batch_alter_table('sync_workstation') as batch_op:
        batch_op.add_column(sa.Column('place', sa.String(length=400), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sync_workstation') as batch_op:
        batch_op.drop_column('place')
    op.drop_table('sync_parked')
