"""chip write journal (issue #10: no chip change is left unrecorded)

Revision ID: 0010
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chip_write',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('business', sa.String(length=24), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('card_number', sa.String(length=9), nullable=False),
    sa.Column('reader', sa.String(length=100), nullable=False),
    sa.Column('clerk_id', sa.String(length=36), nullable=True),
    sa.Column('workstation', sa.String(length=8), nullable=False),
    sa.Column('state', sa.Enum('pending', 'chip_changed', 'recorded', 'refused', 'cancelled', name='chipwritestate',
                               native_enum=False, length=24), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chip_write'))
    )


def downgrade() -> None:
    op.drop_table('chip_write')
