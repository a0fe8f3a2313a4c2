"""case.promise_provisional: a promise counted on the provisional calendar (预计)

Revision ID: 0011
Revises: 0003
Create Date: 2026-11-30 05:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promise_provisional', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('promise_provisional')
