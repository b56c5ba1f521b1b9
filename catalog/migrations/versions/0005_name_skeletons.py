"""Lookalike skeletons of dataset and model keys (catalog/names.py)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:50:00
"""
from alembic import op
import sqlalchemy as sa

from catalog.names import key_skeleton

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ("datasets", "models")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('skeleton', sa.Text(), nullable=True))
            batch_op.create_index(f'ix_{table}_skeleton', ['skeleton'], unique=False)
    connection = op.get_bind()
    for table in TABLES:  # rows written before this revision get theirs, so new names are compared with them too
        rows = sa.table(table, sa.column('id'), sa.column('namespace'), sa.column('name'), sa.column('skeleton'))
        keys = connection.execute(sa.select(rows.c.id, rows.c.namespace, rows.c.name)).all()
        if keys:
            connection.execute(
                rows.update().where(rows.c.id == sa.bindparam('row_id')).values(skeleton=sa.bindparam('value')),
                [{'row_id': id_, 'value': key_skeleton(ns, name)} for id_, ns, name in keys],
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_skeleton')
            batch_op.drop_column('skeleton')
