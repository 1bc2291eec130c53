"""相談窓口と伴走型支援 (issue 15): offices (national desk, ministries, the regional branch offices of
the reference data) and the prefectures each covers per family, responders, routing rules, service
levels, consultations with their measures, shares, thread, attachments and every move, notices,
FAQ entries, and support plans with staff, goals, meetings and action items

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 06:54:35.667070
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consult_office',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('ministry', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_office')),
    sa.UniqueConstraint('code', name=op.f('uq_consult_office_code'))
    )
    with op.batch_alter_table('consult_office', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_office_ministry'), ['ministry'], unique=False)

    op.create_table('consult_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('field_code', sa.String(length=32), nullable=True),
    sa.Column('measure_code', sa.String(length=64), nullable=True),
    sa.Column('ministry', sa.String(length=64), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_rule'))
    )
    op.create_table('consult_service_level',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('first_response_days', sa.Integer(), nullable=False),
    sa.Column('resolution_days', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_consult_service_level'))
    )
    op.create_table('consult_office_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=False),
    sa.Column('prefecture_code', sa.String(length=2), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=False),
    sa.Column('confirmed_by', sa.String(length=64), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['consult_office.id'], name=op.f('fk_consult_office_area_office_id_consult_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_office_area')),
    sa.UniqueConstraint('family', 'prefecture_code', name='uq_consult_office_area_family')
    )
    with op.batch_alter_table('consult_office_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_office_area_office_id'), ['office_id'], unique=False)

    op.create_table('consult_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('asker_user_id', sa.Integer(), nullable=True),
    sa.Column('asker_name', sa.String(length=100), nullable=False),
    sa.Column('asker_email', sa.String(length=254), nullable=False),
    sa.Column('asker_phone', sa.String(length=32), nullable=False),
    sa.Column('share_with_prefecture', sa.Boolean(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('field_code', sa.String(length=32), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('routing_reason', sa.Text(), nullable=False),
    sa.Column('routing_unconfirmed', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_days', sa.Integer(), nullable=True),
    sa.Column('resolution_days', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_noticed', sa.String(length=40), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_suggestion', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['asker_user_id'], ['user_account.id'], name=op.f('fk_consult_case_asker_user_id_user_account')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['consult_case.id'], name=op.f('fk_consult_case_merged_into_id_consult_case')),
    sa.ForeignKeyConstraint(['office_id'], ['consult_office.id'], name=op.f('fk_consult_case_office_id_consult_office')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_consult_case_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_case'))
    )
    with op.batch_alter_table('consult_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_case_field_code'), ['field_code'], unique=False)
        batch_op.create_index('ix_consult_case_office_received', ['office_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consult_case_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index('ix_consult_case_state_received', ['state', 'received_at'], unique=False)

    op.create_table('consult_responder',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lead', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['consult_office.id'], name=op.f('fk_consult_responder_office_id_consult_office')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_consult_responder_user_id_user_account')),
    sa.PrimaryKeyConstraint('office_id', 'user_id', name=op.f('pk_consult_responder'))
    )
    with op.batch_alter_table('consult_responder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_responder_user_id'), ['user_id'], unique=False)

    op.create_table('consult_case_measure',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_case_measure_case_id_consult_case')),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_consult_case_measure_measure_id_measure')),
    sa.PrimaryKeyConstraint('case_id', 'measure_id', name=op.f('pk_consult_case_measure'))
    )
    with op.batch_alter_table('consult_case_measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_case_measure_measure_id'), ['measure_id'], unique=False)

    op.create_table('consult_faq',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('field_code', sa.String(length=32), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_faq_case_id_consult_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_faq'))
    )
    with op.batch_alter_table('consult_faq', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_faq_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consult_faq_state'), ['state'], unique=False)

    op.create_table('consult_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('side', sa.String(length=12), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_message_case_id_consult_case')),
    sa.ForeignKeyConstraint(['office_id'], ['consult_office.id'], name=op.f('fk_consult_message_office_id_consult_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_message'))
    )
    with op.batch_alter_table('consult_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_message_case_id'), ['case_id'], unique=False)

    op.create_table('consult_move',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_office_id', sa.Integer(), nullable=True),
    sa.Column('to_office_id', sa.Integer(), nullable=True),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_move_case_id_consult_case')),
    sa.ForeignKeyConstraint(['from_office_id'], ['consult_office.id'], name=op.f('fk_consult_move_from_office_id_consult_office')),
    sa.ForeignKeyConstraint(['to_office_id'], ['consult_office.id'], name=op.f('fk_consult_move_to_office_id_consult_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_move'))
    )
    with op.batch_alter_table('consult_move', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_move_case_id'), ['case_id'], unique=False)

    op.create_table('consult_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_plan_case_id_consult_case')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_consult_plan_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_plan'))
    )
    with op.batch_alter_table('consult_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_plan_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('consult_share',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_share_case_id_consult_case')),
    sa.ForeignKeyConstraint(['office_id'], ['consult_office.id'], name=op.f('fk_consult_share_office_id_consult_office')),
    sa.PrimaryKeyConstraint('case_id', 'office_id', name=op.f('pk_consult_share'))
    )
    with op.batch_alter_table('consult_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_share_office_id'), ['office_id'], unique=False)

    op.create_table('consult_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_attachment_case_id_consult_case')),
    sa.ForeignKeyConstraint(['message_id'], ['consult_message.id'], name=op.f('fk_consult_attachment_message_id_consult_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_attachment'))
    )
    with op.batch_alter_table('consult_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_attachment_case_id'), ['case_id'], unique=False)

    op.create_table('consult_faq_measure',
    sa.Column('faq_id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['faq_id'], ['consult_faq.id'], name=op.f('fk_consult_faq_measure_faq_id_consult_faq')),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_consult_faq_measure_measure_id_measure')),
    sa.PrimaryKeyConstraint('faq_id', 'measure_id', name=op.f('pk_consult_faq_measure'))
    )
    with op.batch_alter_table('consult_faq_measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_faq_measure_measure_id'), ['measure_id'], unique=False)

    op.create_table('consult_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('recipient_office_id', sa.Integer(), nullable=True),
    sa.Column('recipient_org_unit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('email_to', sa.String(length=254), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['consult_case.id'], name=op.f('fk_consult_notice_case_id_consult_case')),
    sa.ForeignKeyConstraint(['plan_id'], ['consult_plan.id'], name=op.f('fk_consult_notice_plan_id_consult_plan')),
    sa.ForeignKeyConstraint(['recipient_office_id'], ['consult_office.id'], name=op.f('fk_consult_notice_recipient_office_id_consult_office')),
    sa.ForeignKeyConstraint(['recipient_org_unit_id'], ['org_unit.id'], name=op.f('fk_consult_notice_recipient_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_notice'))
    )
    with op.batch_alter_table('consult_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_notice_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consult_notice_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consult_notice_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consult_notice_recipient_office_id'), ['recipient_office_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consult_notice_recipient_org_unit_id'), ['recipient_org_unit_id'], unique=False)

    op.create_table('consult_plan_goal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=True),
    sa.Column('kpi_id', sa.Integer(), nullable=True),
    sa.Column('local_measure', sa.String(length=200), nullable=False),
    sa.Column('local_kpi', sa.String(length=200), nullable=False),
    sa.Column('achieved', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kpi_id'], ['kpi.id'], name=op.f('fk_consult_plan_goal_kpi_id_kpi')),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_consult_plan_goal_measure_id_measure')),
    sa.ForeignKeyConstraint(['plan_id'], ['consult_plan.id'], name=op.f('fk_consult_plan_goal_plan_id_consult_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_plan_goal'))
    )
    with op.batch_alter_table('consult_plan_goal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_plan_goal_plan_id'), ['plan_id'], unique=False)

    op.create_table('consult_plan_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['consult_plan.id'], name=op.f('fk_consult_plan_meeting_plan_id_consult_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_plan_meeting'))
    )
    with op.batch_alter_table('consult_plan_meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_plan_meeting_plan_id'), ['plan_id'], unique=False)

    op.create_table('consult_plan_staff',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('role_note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['consult_office.id'], name=op.f('fk_consult_plan_staff_office_id_consult_office')),
    sa.ForeignKeyConstraint(['plan_id'], ['consult_plan.id'], name=op.f('fk_consult_plan_staff_plan_id_consult_plan')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_consult_plan_staff_user_id_user_account')),
    sa.PrimaryKeyConstraint('plan_id', 'user_id', name=op.f('pk_consult_plan_staff'))
    )
    with op.batch_alter_table('consult_plan_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_plan_staff_user_id'), ['user_id'], unique=False)

    op.create_table('consult_plan_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['consult_plan_meeting.id'], name=op.f('fk_consult_plan_action_meeting_id_consult_plan_meeting')),
    sa.ForeignKeyConstraint(['plan_id'], ['consult_plan.id'], name=op.f('fk_consult_plan_action_plan_id_consult_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_plan_action'))
    )
    with op.batch_alter_table('consult_plan_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_plan_action_plan_id'), ['plan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('consult_plan_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_plan_action_plan_id'))

    op.drop_table('consult_plan_action')
    with op.batch_alter_table('consult_plan_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_plan_staff_user_id'))

    op.drop_table('consult_plan_staff')
    with op.batch_alter_table('consult_plan_meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_plan_meeting_plan_id'))

    op.drop_table('consult_plan_meeting')
    with op.batch_alter_table('consult_plan_goal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_plan_goal_plan_id'))

    op.drop_table('consult_plan_goal')
    with op.batch_alter_table('consult_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_notice_recipient_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_consult_notice_recipient_office_id'))
        batch_op.drop_index(batch_op.f('ix_consult_notice_plan_id'))
        batch_op.drop_index(batch_op.f('ix_consult_notice_case_id'))
        batch_op.drop_index(batch_op.f('ix_consult_notice_at'))

    op.drop_table('consult_notice')
    with op.batch_alter_table('consult_faq_measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_faq_measure_measure_id'))

    op.drop_table('consult_faq_measure')
    with op.batch_alter_table('consult_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_attachment_case_id'))

    op.drop_table('consult_attachment')
    with op.batch_alter_table('consult_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_share_office_id'))

    op.drop_table('consult_share')
    with op.batch_alter_table('consult_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_plan_org_unit_id'))

    op.drop_table('consult_plan')
    with op.batch_alter_table('consult_move', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_move_case_id'))

    op.drop_table('consult_move')
    with op.batch_alter_table('consult_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_message_case_id'))

    op.drop_table('consult_message')
    with op.batch_alter_table('consult_faq', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_faq_state'))
        batch_op.drop_index(batch_op.f('ix_consult_faq_case_id'))

    op.drop_table('consult_faq')
    with op.batch_alter_table('consult_case_measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_case_measure_measure_id'))

    op.drop_table('consult_case_measure')
    with op.batch_alter_table('consult_responder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_responder_user_id'))

    op.drop_table('consult_responder')
    with op.batch_alter_table('consult_case', schema=None) as batch_op:
        batch_op.drop_index('ix_consult_case_state_received')
        batch_op.drop_index(batch_op.f('ix_consult_case_org_unit_id'))
        batch_op.drop_index('ix_consult_case_office_received')
        batch_op.drop_index(batch_op.f('ix_consult_case_field_code'))

    op.drop_table('consult_case')
    with op.batch_alter_table('consult_office_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_office_area_office_id'))

    op.drop_table('consult_office_area')
    op.drop_table('consult_service_level')
    op.drop_table('consult_rule')
    with op.batch_alter_table('consult_office', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_office_ministry'))

    op.drop_table('consult_office')
