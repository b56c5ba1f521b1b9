"""governance fields, incident windows and settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 07:01:30.550278
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('special_category_basis', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('collected', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('retention_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('tdm_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('tdm_method', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('tdm_checked', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('deid_method', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('deid_verified', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('bias_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('bias_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('bias_documentation', sa.Text(), nullable=True))

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('due')
        batch_op.drop_column('effective_from')

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_column('bias_documentation')
        batch_op.drop_column('bias_date')
        batch_op.drop_column('bias_status')
        batch_op.drop_column('deid_verified')
        batch_op.drop_column('deid_method')
        batch_op.drop_column('tdm_checked')
        batch_op.drop_column('tdm_method')
        batch_op.drop_column('tdm_status')
        batch_op.drop_column('retention_until')
        batch_op.drop_column('collected')
        batch_op.drop_column('special_category_basis')

    op.drop_table('settings')
