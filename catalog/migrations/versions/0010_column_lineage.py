"""Columns of datasets, flows between columns, and the columns a model read

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 17:30:00

`dataset_columns` (a dataset's columns with their classifications) and `column_flows` (input column
-> output column, DIRECT or INDIRECT) hold column-level lineage (issue 21); `feeds.features` the
columns a model read from a dataset (null: all of them). Both tables are tracked by the history, and
the triggers are installed again because the feeds' row image gains a column.
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True)]


def upgrade() -> None:
    from catalog.history import triggers

    op.create_table(
        'dataset_columns',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('dataset_id', sa.Integer(), sa.ForeignKey('datasets.id', ondelete='CASCADE'), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('type', sa.Text(), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('classifications', sa.JSON(), nullable=True),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=32), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint('dataset_id', 'name', name='uq_dataset_columns_dataset_name'),
    )
    op.create_table(
        'column_flows',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('output_id', sa.Integer(), sa.ForeignKey('datasets.id', ondelete='CASCADE'), nullable=False),
        sa.Column('output_column', sa.Text(), nullable=False),
        sa.Column('input_id', sa.Integer(), sa.ForeignKey('datasets.id', ondelete='CASCADE'), nullable=False),
        sa.Column('input_column', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('subtype', sa.String(length=64), nullable=True),
        sa.Column('masking', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        *_timestamps(),
    )
    op.create_index('ix_column_flows_output', 'column_flows', ['output_id'])
    op.create_index('ix_column_flows_input', 'column_flows', ['input_id'])
    with op.batch_alter_table('feeds') as batch:
        batch.add_column(sa.Column("features", sa.JSON(none_as_null=True), nullable=True))
    connection = op.get_bind()
    triggers.pin_image_format(connection)
    triggers.install(connection)


def downgrade() -> None:
    from catalog.history import triggers

    connection = op.get_bind()
    triggers.uninstall(connection)
    op.drop_index('ix_column_flows_input', 'column_flows')
    op.drop_index('ix_column_flows_output', 'column_flows')
    op.drop_table('column_flows')
    op.drop_table('dataset_columns')
    with op.batch_alter_table('feeds') as batch:
        batch.drop_column('features')
    triggers.install(connection)
