"""the applicant's side: confirmation and signature on the case, 好差评 ratings (issue 28)

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applicant_confirmed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('applicant_confirmed', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('signature_sha256', sa.String(length=64), nullable=False, server_default=''))
    op.create_table('case_rating',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('clerk_id', sa.String(length=36), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('rated_at', sa.DateTime(), nullable=False),
    sa.Column('follow_up_due', sa.Date(), nullable=True),
    sa.Column('followed_up_at', sa.DateTime(), nullable=True),
    sa.Column('follow_up_note', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_rating_case_id_case')),
    sa.ForeignKeyConstraint(['clerk_id'], ['clerk.id'], name=op.f('fk_case_rating_clerk_id_clerk')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_rating')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_rating_case_id'))
    )
    with op.batch_alter_table('case_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_rating_clerk_id'), ['clerk_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_rating_rated_at'), ['rated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_rating_rated_at'))
        batch_op.drop_index(batch_op.f('ix_case_rating_clerk_id'))
    op.drop_table('case_rating')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('signature_sha256')
        batch_op.drop_column('applicant_confirmed')
        batch_op.drop_column('applicant_confirmed_at')
