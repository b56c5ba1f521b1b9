"""Alembic environment: always run with the connection the store hands over."""

from alembic import context

from catalog.schema import Base, UTCDateTime
import catalog.schema_columns  # noqa: F401  (registers the column tables on Base.metadata)


def render_item(kind, obj, autogen_context):
    """Migrations must not import our types: UTCDateTime is a DateTime(timezone=True) in the database."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs `alembic` by hand
    raise RuntimeError("run migrations through catalog.store.Store, which passes its connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
