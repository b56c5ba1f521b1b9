"""The catalog: the store of datasets, models and their edges, and the catalog-file loader.

Nothing here imports from `lineage`, `checks` or `api`: layering flows one way.
"""

DEFAULT_URL = "sqlite:///headwater.db"  # here, not in store.py, so reading it imports no SQLAlchemy
