"""相談窓口 dashboard roll-up kept on write (consult_stat): per office × field × month of receipt
(Japan time), the consultations received and open and the histograms of first-response and
resolution times in 開庁日, with their sums over every field and every month, so the dashboard
reads a few thousand rows instead of one per consultation; backfilled from the existing
consultations. An index on the receipt time, for the part-months of a period

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 10:16:51.085206
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The backfill as this revision knows the tables (a migration does not import the models, which
# may change later): the office × field × month cells (merged duplicates not counted; open:
# received, assigned, answered), then their sums over every field ('*'), every month and both.
_MONTH = {"postgresql": "to_char(timezone('Asia/Tokyo', received_at), 'YYYY-MM')",
          "sqlite": "strftime('%Y-%m', received_at, '+9 hours')"}
_CELLS = """
INSERT INTO consult_stat (office_id, field_code, month, metric, days, n)
SELECT office_id, field_code, month, metric, days, COUNT(*) FROM (
  SELECT office_id, COALESCE(field_code, '') AS field_code, {month} AS month, 'received' AS metric, 0 AS days
    FROM consult_case WHERE state <> 'merged'
  UNION ALL
  SELECT office_id, COALESCE(field_code, ''), {month}, 'open', 0
    FROM consult_case WHERE state IN ('received', 'assigned', 'answered')
  UNION ALL
  SELECT office_id, COALESCE(field_code, ''), {month}, 'first', first_response_days
    FROM consult_case WHERE state <> 'merged' AND first_response_days IS NOT NULL
  UNION ALL
  SELECT office_id, COALESCE(field_code, ''), {month}, 'resolved', resolution_days
    FROM consult_case WHERE state <> 'merged' AND resolution_days IS NOT NULL
) AS counted GROUP BY office_id, field_code, month, metric, days
"""
_SUMS = """
INSERT INTO consult_stat (office_id, field_code, month, metric, days, n)
SELECT office_id, {field}, {month}, metric, days, SUM(n) FROM consult_stat
 WHERE field_code <> '*' AND month <> '*' GROUP BY office_id, {group}metric, days
"""


def upgrade() -> None:
    op.create_table('consult_stat',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('field_code', sa.String(length=32), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('metric', sa.String(length=8), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['consult_office.id'], name=op.f('fk_consult_stat_office_id_consult_office')),
    sa.PrimaryKeyConstraint('office_id', 'field_code', 'month', 'metric', 'days', name=op.f('pk_consult_stat'))
    )
    with op.batch_alter_table('consult_stat', schema=None) as batch_op:
        batch_op.create_index('ix_consult_stat_by_field', ['field_code', 'month', 'metric', 'days', 'office_id', 'n'], unique=False)
        batch_op.create_index('ix_consult_stat_by_month', ['month', 'field_code', 'metric', 'days', 'office_id', 'n'], unique=False)

    with op.batch_alter_table('consult_case', schema=None) as batch_op:
        batch_op.create_index('ix_consult_case_received', ['received_at'], unique=False)

    dialect = op.get_bind().dialect.name
    op.execute(_CELLS.format(month=_MONTH["postgresql" if dialect == "postgresql" else "sqlite"]))
    for field, month, group in (("'*'", "month", "month, "), ("field_code", "'*'", "field_code, "),
                                ("'*'", "'*'", "")):
        op.execute(_SUMS.format(field=field, month=month, group=group))


def downgrade() -> None:
    with op.batch_alter_table('consult_case', schema=None) as batch_op:
        batch_op.drop_index('ix_consult_case_received')

    with op.batch_alter_table('consult_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_consult_stat_by_month')
        batch_op.drop_index('ix_consult_stat_by_field')

    op.drop_table('consult_stat')
