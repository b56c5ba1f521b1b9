"""OpenLineage: raw events, run state, and facets on datasets and jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 07:56:24.196183
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lineage_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event_type', sa.String(length=16), nullable=True),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('job_namespace', sa.Text(), nullable=True),
    sa.Column('job_name', sa.Text(), nullable=True),
    sa.Column('producer', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('payload_hash', name='uq_lineage_events_payload_hash')
    )
    with op.batch_alter_table('lineage_events', schema=None) as batch_op:
        batch_op.create_index('ix_lineage_events_job', ['job_namespace', 'job_name'], unique=False)
        batch_op.create_index('ix_lineage_events_run', ['run_id'], unique=False)
        batch_op.create_index('ix_lineage_events_time', ['event_time'], unique=False)

    op.create_table('lineage_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=80), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=True),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lineage_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('has_outputs', sa.Boolean(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('outputs', sa.JSON(), nullable=False),
    sa.Column('models', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'run_id', name='uq_lineage_runs_job_run')
    )
    with op.batch_alter_table('lineage_runs', schema=None) as batch_op:
        batch_op.create_index('ix_lineage_runs_job_time', ['job_id', 'lineage_time'], unique=False)

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facets', sa.JSON(), nullable=True))

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facets', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('facets')

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_column('facets')

    with op.batch_alter_table('lineage_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_lineage_runs_job_time')

    op.drop_table('lineage_runs')
    with op.batch_alter_table('lineage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_lineage_events_time')
        batch_op.drop_index('ix_lineage_events_run')
        batch_op.drop_index('ix_lineage_events_job')

    op.drop_table('lineage_events')
