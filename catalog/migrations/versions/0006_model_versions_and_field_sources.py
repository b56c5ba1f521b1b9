"""Model versions, field sources, check runs from other tools

- `models` rows are model versions: `version` is part of the key (a model stored before without one
  becomes version "1"), with the version's `stage`, its `source` and when it was registered there;
  `risk_tier` may be unknown (an imported version whose team has not set it is a finding).
- `datasets.field_sources` / `models.field_sources`: which source set each field, and when.
- `check_runs.source` (headwater, dbt, ...) and `check_runs.digests` (other tools' digests of the
  content, such as MLflow's, recomputed where the data is read).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE models SET version = '1' WHERE version IS NULL OR version = ''")
    # On SQLite the batch below rebuilds `models` (copy, DROP, rename). With foreign keys on, the DROP
    # deletes every feed (ON DELETE CASCADE) and clears every base model (SET NULL), and the pragma
    # cannot be turned off inside the migration's transaction: keep both and put them back.
    bind = op.get_bind()
    rebuilt = bind.dialect.name == "sqlite"
    if rebuilt:
        feeds = [dict(row) for row in bind.execute(sa.text("SELECT * FROM feeds")).mappings()]
        bases = bind.execute(sa.text("SELECT id, base_model_id FROM models WHERE base_model_id IS NOT NULL")).all()
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('risk_tier', existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column('stage', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=32), nullable=False, server_default='catalog'))
        batch_op.add_column(sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('field_sources', sa.JSON(), nullable=True))
        batch_op.drop_constraint('uq_models_namespace_name', type_='unique')
        batch_op.create_unique_constraint('uq_models_namespace_name_version', ['namespace', 'name', 'version'])
    if rebuilt:
        _restore(bind, feeds, bases)
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_sources', sa.JSON(), nullable=True))
    with op.batch_alter_table('check_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=32), nullable=False, server_default='headwater'))
        batch_op.add_column(sa.Column('digests', sa.JSON(), nullable=True))


def _restore(bind, feeds: list[dict], bases: list) -> None:
    bind.execute(sa.text("DELETE FROM feeds"))
    if feeds:
        columns = list(feeds[0])
        bind.execute(sa.text(f"INSERT INTO feeds ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
                     feeds)
    for model_id, base_id in bases:
        bind.execute(sa.text("UPDATE models SET base_model_id = :base WHERE id = :id"), {"base": base_id, "id": model_id})


def downgrade() -> None:
    with op.batch_alter_table('check_runs', schema=None) as batch_op:
        batch_op.drop_column('digests')
        batch_op.drop_column('source')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_column('field_sources')
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.drop_constraint('uq_models_namespace_name_version', type_='unique')
        batch_op.create_unique_constraint('uq_models_namespace_name', ['namespace', 'name'])
        batch_op.drop_column('field_sources')
        batch_op.drop_column('registered_at')
        batch_op.drop_column('source')
        batch_op.drop_column('stage')
        batch_op.alter_column('risk_tier', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('version', existing_type=sa.Text(), nullable=True)
