"""重点支援 (issue 14): support programmes, calls and their rubrics, applications (joint ones with
members who confirm), reviewers, declared conflicts, reviews, and published selections

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:46:25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('support_programme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ministry', sa.String(length=100), nullable=False),
    sa.Column('model_type_id', sa.Integer(), nullable=True),
    sa.Column('kpi_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['kpi_id'], ['kpi.id'], name=op.f('fk_support_programme_kpi_id_kpi')),
    sa.ForeignKeyConstraint(['model_type_id'], ['model_type.id'], name=op.f('fk_support_programme_model_type_id_model_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_programme')),
    sa.UniqueConstraint('code', name=op.f('uq_support_programme_code'))
    )
    op.create_table('support_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('budget', sa.BigInteger(), nullable=True),
    sa.Column('per_application_cap', sa.BigInteger(), nullable=True),
    sa.Column('eligible_kinds', sa.JSON(), nullable=False),
    sa.Column('joint_allowed', sa.Boolean(), nullable=False),
    sa.Column('joint_bonus', sa.Float(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=True),
    sa.Column('proposal', sa.JSON(), nullable=True),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['support_programme.id'], name=op.f('fk_support_call_programme_id_support_programme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_call')),
    sa.UniqueConstraint('programme_id', 'round', name='uq_support_call_round')
    )
    with op.batch_alter_table('support_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_call_programme_id'), ['programme_id'], unique=False)

    op.create_table('support_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('lead_org_unit_id', sa.Integer(), nullable=False),
    sa.Column('collaboration_group_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('issues', sa.Text(), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('kpis', sa.JSON(), nullable=False),
    sa.Column('requested_amount', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['support_call.id'], name=op.f('fk_support_application_call_id_support_call')),
    sa.ForeignKeyConstraint(['collaboration_group_id'], ['collaboration_group.id'], name=op.f('fk_support_application_collaboration_group_id_collaboration_group')),
    sa.ForeignKeyConstraint(['lead_org_unit_id'], ['org_unit.id'], name=op.f('fk_support_application_lead_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_application'))
    )
    with op.batch_alter_table('support_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_application_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_application_lead_org_unit_id'), ['lead_org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_application_status'), ['status'], unique=False)

    op.create_table('support_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('max_points', sa.Float(), nullable=False),
    sa.Column('regional_collaboration', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['support_call.id'], name=op.f('fk_support_criterion_call_id_support_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_criterion')),
    sa.UniqueConstraint('call_id', 'code', name='uq_support_criterion_code')
    )
    with op.batch_alter_table('support_criterion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_criterion_call_id'), ['call_id'], unique=False)

    op.create_table('support_reviewer',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('home_org_unit_id', sa.Integer(), nullable=True),
    sa.Column('assigned_by', sa.String(length=64), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['support_call.id'], name=op.f('fk_support_reviewer_call_id_support_call')),
    sa.ForeignKeyConstraint(['home_org_unit_id'], ['org_unit.id'], name=op.f('fk_support_reviewer_home_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('call_id', 'reviewer', name=op.f('pk_support_reviewer'))
    )
    op.create_table('support_application_member',
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['support_application.id'], name=op.f('fk_support_application_member_application_id_support_application')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_support_application_member_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('application_id', 'org_unit_id', name=op.f('pk_support_application_member'))
    )
    op.create_table('support_conflict',
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['support_application.id'], name=op.f('fk_support_conflict_application_id_support_application')),
    sa.PrimaryKeyConstraint('application_id', 'reviewer', name=op.f('pk_support_conflict'))
    )
    op.create_table('support_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['support_application.id'], name=op.f('fk_support_review_application_id_support_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_review')),
    sa.UniqueConstraint('application_id', 'reviewer', name='uq_support_review_reviewer')
    )
    with op.batch_alter_table('support_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_review_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_review_reviewer'), ['reviewer'], unique=False)

    op.create_table('support_selection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('round', sa.Integer(), nullable=True),
    sa.Column('selected_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('lead_org_unit_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['support_application.id'], name=op.f('fk_support_selection_application_id_support_application')),
    sa.ForeignKeyConstraint(['call_id'], ['support_call.id'], name=op.f('fk_support_selection_call_id_support_call')),
    sa.ForeignKeyConstraint(['lead_org_unit_id'], ['org_unit.id'], name=op.f('fk_support_selection_lead_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['programme_id'], ['support_programme.id'], name=op.f('fk_support_selection_programme_id_support_programme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_selection')),
    sa.UniqueConstraint('application_id', name=op.f('uq_support_selection_application_id')),
    sa.UniqueConstraint('key', name=op.f('uq_support_selection_key'))
    )
    with op.batch_alter_table('support_selection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_selection_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_selection_lead_org_unit_id'), ['lead_org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_selection_programme_id'), ['programme_id'], unique=False)

    op.create_table('support_selection_member',
    sa.Column('selection_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_support_selection_member_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['selection_id'], ['support_selection.id'], name=op.f('fk_support_selection_member_selection_id_support_selection')),
    sa.PrimaryKeyConstraint('selection_id', 'org_unit_id', name=op.f('pk_support_selection_member'))
    )


def downgrade() -> None:
    op.drop_table('support_selection_member')
    with op.batch_alter_table('support_selection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_selection_programme_id'))
        batch_op.drop_index(batch_op.f('ix_support_selection_lead_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_support_selection_call_id'))

    op.drop_table('support_selection')
    with op.batch_alter_table('support_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_review_reviewer'))
        batch_op.drop_index(batch_op.f('ix_support_review_application_id'))

    op.drop_table('support_review')
    op.drop_table('support_conflict')
    op.drop_table('support_application_member')
    op.drop_table('support_reviewer')
    with op.batch_alter_table('support_criterion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_criterion_call_id'))

    op.drop_table('support_criterion')
    with op.batch_alter_table('support_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_application_status'))
        batch_op.drop_index(batch_op.f('ix_support_application_lead_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_support_application_call_id'))

    op.drop_table('support_application')
    with op.batch_alter_table('support_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_call_programme_id'))

    op.drop_table('support_call')
    op.drop_table('support_programme')
