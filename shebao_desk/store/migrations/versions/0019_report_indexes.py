"""covering indexes for the statistics report: a month's cases read from the index alone

The report groups a period's cases by business and by clerk, once by acceptance and once by
completion. With an index on the timestamp alone, each of a month's ~40,000 cases (of a million) was a
lookup into the table; these indexes hold every column the report reads, so the range scan is all.
They start with the timestamp, so they replace ix_case_accepted_at and ix_case_completed_at.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-05 16:15:00
"""
from alembic import op


revision = '0019'
down_revision = '0016'
branch_labels = None
depends_on = None

ACCEPTED = ['accepted_at', 'business', 'accepted_by', 'status', 'workstation', 'number']
COMPLETED = ['completed_at', 'business', 'accepted_by', 'promised_date', 'accepted_at', 'workstation', 'number']


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_accepted_report', ACCEPTED, unique=False)
        batch_op.create_index('ix_case_completed_report', COMPLETED, unique=False)
        batch_op.drop_index('ix_case_accepted_at')
        batch_op.drop_index('ix_case_completed_at')


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_accepted_at', ['accepted_at'], unique=False)
        batch_op.create_index('ix_case_completed_at', ['completed_at'], unique=False)
        batch_op.drop_index('ix_case_completed_report')
        batch_op.drop_index('ix_case_accepted_report')
