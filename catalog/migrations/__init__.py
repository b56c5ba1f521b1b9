"""Alembic migrations for the store, applied automatically when a store is opened."""
