"""pick-up outlet per case, large-print preference per person

Revision ID: 0015
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outlet', sa.String(length=100), server_default='', nullable=False))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('large_print', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('large_print')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('outlet')
