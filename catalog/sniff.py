"""Recognise files that are plainly not catalog files, so the error says what the file is.

People point `headwater load` at what they have: a model card (`README.md` with YAML front matter),
a dbt `manifest.json`, a file of OpenLineage events. A parse error ("found another document") or a
wall of unknown-field errors tells them nothing; one sentence naming the file's kind, and the
command that does take it where there is one, does.
"""

from __future__ import annotations

import re
from typing import Any

CATALOG_HINT = "a catalog file is YAML or JSON with 'catalog:' and 'datasets:' / 'models:' (see docs/catalog-file.md)"


def front_matter(text: str) -> bool:
    """Markdown with a YAML front-matter block: `---` on the first line and again further down."""
    lines = text.lstrip("\ufeff").splitlines()
    return bool(lines) and lines[0].strip() == "---" and any(line.strip() == "---" for line in lines[1:])


def describe(data: Any, *, suffix: str = "", text: str = "") -> str | None:
    """What this file is, when it is plainly something other than a catalog file; else None."""
    if suffix.lower() in (".md", ".markdown") or (text and front_matter(text) and not isinstance(data, dict)):
        if front_matter(text):
            return ("this is a Markdown file with YAML front matter (a Hugging Face model card?), "
                    f"not a catalog file; {CATALOG_HINT}")
        return f"this is a Markdown file, not a catalog file; {CATALOG_HINT}"
    if _openlineage(data) or (isinstance(data, list) and data and all(_openlineage(item) for item in data[:20])):
        return "this holds OpenLineage events, not a catalog: ingest it with `headwater ingest FILE`"
    if not isinstance(data, dict):
        return None
    dbt = data.get("metadata", {}).get("dbt_schema_version") if isinstance(data.get("metadata"), dict) else None
    if isinstance(dbt, str):
        named = re.search(r"/dbt/([A-Za-z_-]+)/v\d+", dbt)
        kind = f"{named.group(1).replace('-', ' ')} " if named else ""
        return (f"this is a dbt {kind}artifact ({dbt}), not a catalog file; send dbt's lineage through "
                "OpenLineage (`dbt-ol`) to `headwater ingest` or POST /api/v1/lineage")
    context = data.get("@context")
    if isinstance(context, dict) and any("croissant" in str(v) for v in context.values()):
        return f"this is an MLCommons Croissant dataset description, not a catalog file; {CATALOG_HINT}"
    return None


def _openlineage(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    schema = item.get("schemaURL")
    return (isinstance(schema, str) and "openlineage" in schema.lower()) or (
        "eventTime" in item and ("run" in item or "job" in item or "dataset" in item))
