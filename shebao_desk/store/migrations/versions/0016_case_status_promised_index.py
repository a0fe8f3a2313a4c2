"""index for the Today page's open and overdue lists (status, promised_date, accepted_at)

Revision ID: 0016
Revises: 0018
"""
from alembic import op


revision = '0016'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_open', ['status', 'promised_date', 'accepted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_open')
