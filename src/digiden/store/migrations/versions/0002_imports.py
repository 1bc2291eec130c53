"""imports: change log, mappings, rules, rollup

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:08:40.342808
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mapping')),
    sa.UniqueConstraint('name', name=op.f('uq_import_mapping_name'))
    )
    op.create_table('batch_kpi',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kpi_id', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_batch_kpi_batch_id_import_batch')),
    sa.ForeignKeyConstraint(['kpi_id'], ['kpi.id'], name=op.f('fk_batch_kpi_kpi_id_kpi')),
    sa.PrimaryKeyConstraint('batch_id', 'kpi_id', name=op.f('pk_batch_kpi'))
    )
    op.create_table('series_rollup',
    sa.Column('kpi_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('breakdown', sa.String(length=32), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('positive', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kpi_id'], ['kpi.id'], name=op.f('fk_series_rollup_kpi_id_kpi')),
    sa.PrimaryKeyConstraint('kpi_id', 'as_of', 'breakdown', name=op.f('pk_series_rollup'))
    )
    op.create_table('observation_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('old_value', sa.Float(), nullable=False),
    sa.Column('old_qualifier', sa.String(length=16), nullable=False),
    sa.Column('old_precision', sa.String(length=8), nullable=False),
    sa.Column('old_source_title', sa.Text(), nullable=False),
    sa.Column('old_source_url', sa.Text(), nullable=True),
    sa.Column('old_batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_observation_change_batch_id_import_batch')),
    sa.ForeignKeyConstraint(['observation_id'], ['observation.id'], name=op.f('fk_observation_change_observation_id_observation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observation_change'))
    )
    with op.batch_alter_table('observation_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observation_change_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_change_observation_id'), ['observation_id'], unique=False)

    op.add_column('import_batch', sa.Column('file_format', sa.String(length=16), nullable=False, server_default=''))
    op.add_column('import_batch', sa.Column('encoding', sa.String(length=16), nullable=False, server_default=''))
    op.add_column('import_batch', sa.Column('shape', sa.String(length=8), nullable=False, server_default=''))
    op.add_column('import_batch', sa.Column('warnings', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('import_batch', sa.Column('reverted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('import_batch', sa.Column('reverted_by', sa.String(length=64), nullable=True))

    op.add_column('observation', sa.Column('source_row', sa.Integer(), nullable=True))
    op.drop_index('ix_observation_kpi_asof', table_name='observation')
    op.drop_index('ix_observation_org_unit_id', table_name='observation')
    op.add_column('kpi', sa.Column('rules', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('kpi', sa.Column('synthetic', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    op.create_index('ix_observation_kpi_asof', 'observation', ['kpi_id', 'as_of'])
    op.create_index('ix_observation_org_unit_id', 'observation', ['org_unit_id'])
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_column('source_row')
    with op.batch_alter_table('kpi', schema=None) as batch_op:
        batch_op.drop_column('synthetic')
        batch_op.drop_column('rules')

    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_column('reverted_by')
        batch_op.drop_column('reverted_at')
        batch_op.drop_column('warnings')
        batch_op.drop_column('shape')
        batch_op.drop_column('encoding')
        batch_op.drop_column('file_format')

    with op.batch_alter_table('observation_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observation_change_observation_id'))
        batch_op.drop_index(batch_op.f('ix_observation_change_batch_id'))

    op.drop_table('observation_change')
    op.drop_table('series_rollup')
    op.drop_table('batch_kpi')
    op.drop_table('import_mapping')
