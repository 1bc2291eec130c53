"""重点支援 and 相談窓口, second step: files attached to support applications (kept in the database,
checksummed, so backups carry them), yearly evaluation reports of selected regions (self-assessment
and national assessment per fiscal year), and a version on FAQ entries so two editors cannot
overwrite each other (existing entries start at 1)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:26:57.097270
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('support_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['support_application.id'], name=op.f('fk_support_attachment_application_id_support_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_attachment'))
    )
    with op.batch_alter_table('support_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_attachment_application_id'), ['application_id'], unique=False)

    op.create_table('support_evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('selection_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('rating', sa.String(length=16), nullable=True),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['selection_id'], ['support_selection.id'], name=op.f('fk_support_evaluation_selection_id_support_selection')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_evaluation')),
    sa.UniqueConstraint('selection_id', 'fiscal_year', 'kind', name='uq_support_evaluation_year')
    )
    with op.batch_alter_table('support_evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_evaluation_selection_id'), ['selection_id'], unique=False)

    with op.batch_alter_table('consult_faq', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('consult_faq', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('support_evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_evaluation_selection_id'))

    op.drop_table('support_evaluation')
    with op.batch_alter_table('support_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_attachment_application_id'))

    op.drop_table('support_attachment')
