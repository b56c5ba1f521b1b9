"""History of every change and a hash-chained audit trail

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:40:00

Creates `history_changes` (written by triggers on the tracked tables) and `history_entries`
(the audit trail), records the rows already in the store as its baseline, and opens the trail.
A store upgraded here has no history before this moment, and says so to an earlier `--as-of`.
"""
from alembic import context, op
import sqlalchemy as sa
from sqlalchemy.orm import Session

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from catalog.history import chain, triggers
    from catalog.schema import utcnow

    big = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table(
        'history_changes',
        sa.Column('id', big, primary_key=True),
        sa.Column('entity', sa.String(length=32), nullable=False),
        sa.Column('row_id', sa.Text(), nullable=False),
        sa.Column('op', sa.String(length=8), nullable=False),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('after', sa.Text(), nullable=True),
    )
    op.create_index('ix_history_changes_row', 'history_changes', ['entity', 'row_id', 'id'])
    op.create_table(
        'history_entries',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.Column('first_change', sa.BigInteger(), nullable=False),
        sa.Column('last_change', sa.BigInteger(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('previous', sa.String(length=64), nullable=True),
        sa.Column('hash', sa.String(length=64), nullable=False),
    )
    op.create_index('ix_history_entries_at', 'history_entries', ['at'])
    connection = op.get_bind()
    triggers.pin_image_format(connection)
    triggers.install(connection)
    triggers.record_baseline(connection)
    revision_now = connection.execute(sa.text("SELECT revision FROM store_revision WHERE id = 1")).scalar() or 0
    session = Session(bind=connection)
    clock = context.config.attributes.get('clock', utcnow)  # the Store's clock
    chain.open_trail(session, revision=int(revision_now), clock=clock)
    session.flush()


def downgrade() -> None:
    from catalog.history.triggers import uninstall

    uninstall(op.get_bind())
    op.drop_table('history_entries')
    op.drop_table('history_changes')
