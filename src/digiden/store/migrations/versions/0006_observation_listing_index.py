"""an index that serves the observation listing: KPI filter, (as_of, breakdown, id) order, keyset paging

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.create_index('ix_observation_kpi_listing', ['kpi_id', 'as_of', 'breakdown', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_index('ix_observation_kpi_listing')
