"""temporary cards (临时卡) handed over during 补换, tracked until returned (issue 27)

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('temp_card',
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('returned_by', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_temp_card_case_id_case')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_temp_card_person_id_person')),
    sa.ForeignKeyConstraint(['returned_by'], ['clerk.id'], name=op.f('fk_temp_card_returned_by_clerk')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_temp_card'))
    )
    with op.batch_alter_table('temp_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_temp_card_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_temp_card_outstanding', ['returned_at', 'valid_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('temp_card', schema=None) as batch_op:
        batch_op.drop_index('ix_temp_card_outstanding')
        batch_op.drop_index(batch_op.f('ix_temp_card_person_id'))
    op.drop_table('temp_card')
