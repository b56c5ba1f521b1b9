"""A model version's licence (the SPDX id a model card or a catalog file gives)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('models', schema=None) as batch_op:  # a plain ADD COLUMN: no rebuild
        batch_op.add_column(sa.Column('licence', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.drop_column('licence')
