"""case field origins, printed papers, scanned attachments (issue 17: desk devices)

Revision ID: 0017
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_origins', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('papers_printed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('print_problem', sa.Text(), nullable=False, server_default=''))
    op.create_table('case_attachment',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('dpi', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=200), nullable=False),
    sa.Column('scanned_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_attachment_case_id_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_attachment'))
    )
    with op.batch_alter_table('case_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_attachment_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_attachment_case_id'))
    op.drop_table('case_attachment')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('print_problem')
        batch_op.drop_column('papers_printed_at')
        batch_op.drop_column('field_origins')
