"""What the last load of each catalog file read, so an unchanged reload can skip the work

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:10:00

`catalog_file_loads` holds, per catalog file (its resolved path), the digest of what the load read
(the file's bytes, its suite files, the policy it named, the code that interpreted them), how many
entries it declared, and the store's mark (revision and newest history change) when that load
committed. Not a tracked table: it is bookkeeping about loads, not catalog content, and writing it
must move neither the revision nor the history (`catalog/loader_fingerprints.py`).
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table(
        'catalog_file_loads',
        sa.Column('path', sa.Text(), primary_key=True),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('inputs', sa.JSON(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('revision', big, nullable=False),
        sa.Column('last_change', big, nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('catalog_file_loads')
