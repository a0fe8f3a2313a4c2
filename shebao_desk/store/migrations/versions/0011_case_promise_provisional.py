"""case.promise_provisional: a promise counted on the provisional calendar (预计);
calendar_year: imported official calendars that travel with sync

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
    op.create_table('calendar_year',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('schedule', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_year'))
    )


def downgrade() -> None:
    op.drop_table('calendar_year')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('promise_provisional')
