"""data_version: a token that changes with every committed write, for caches keyed by the data

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 05:30:00
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('data_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version'))
    )
    op.bulk_insert(table, [{'id': 1, 'token': uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table('data_version')
