"""Headwater's own OpenLineage facet schemas, served at the path their `_schemaURL` names.

Producers that emit `headwater_model` and `headwater_feed` facets point `_schemaURL` at
`…/spec/facets/1-0-0/<Facet>.json`, as OpenLineage's own facets do; a validator or a lineage
tool that follows the URL to this server gets the schema. Only the files bundled in
`catalog/openlineage/spec/headwater/` are served, by exact name.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from catalog.errors import NotFound
from catalog.openlineage import FACET_SCHEMAS

router = APIRouter(tags=["openlineage"])
SCHEMA_PATH = "/spec/facets/1-0-0"


@cache
def _schema(name: str) -> dict[str, Any]:
    return json.loads(FACET_SCHEMAS[name].read_text(encoding="utf-8"))


@router.get(f"{SCHEMA_PATH}/{{schema}}", summary="A Headwater OpenLineage facet schema",
            responses={200: {"content": {"application/schema+json": {}}}, 404: {"description": "no such schema"}})
def facet_schema(schema: str) -> JSONResponse:
    """`HeadwaterModelOutputDatasetFacet.json` or `HeadwaterFeedInputDatasetFacet.json` (JSON Schema 2020-12)."""
    name = schema.removesuffix(".json")
    if name not in FACET_SCHEMAS:
        raise NotFound(f"no facet schema {schema!r}; expected one of "
                       + ", ".join(f"{n}.json" for n in sorted(FACET_SCHEMAS)))
    return JSONResponse(_schema(name), media_type="application/schema+json")
