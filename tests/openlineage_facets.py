"""Headwater's custom facets as an openlineage-python user defines them, for tests that emit them
with the official client (the client has no class for custom facets; producers write these)."""

from __future__ import annotations

from typing import Any

MODEL_SCHEMA_URL = "https://headwater.dev/spec/facets/1-0-0/HeadwaterModelOutputDatasetFacet.json"
FEED_SCHEMA_URL = "https://headwater.dev/spec/facets/1-0-0/HeadwaterFeedInputDatasetFacet.json"


def facet_classes() -> tuple[Any, Any]:
    """(HeadwaterModel, HeadwaterFeed): attrs classes on the client's base facets, imported late
    because the client is a test dependency only."""
    import attr
    from openlineage.client.generated.base import InputDatasetFacet, OutputDatasetFacet

    @attr.define
    class HeadwaterModel(OutputDatasetFacet):
        riskTier: str  # noqa: N815 - the facet's field name
        name: str | None = None
        version: str | None = None
        deployed: bool | None = None

        @staticmethod
        def _get_schema() -> str:
            return MODEL_SCHEMA_URL

    @attr.define
    class HeadwaterFeed(InputDatasetFacet):
        role: str = "training"
        fingerprint: str | None = None

        @staticmethod
        def _get_schema() -> str:
            return FEED_SCHEMA_URL

    return HeadwaterModel, HeadwaterFeed
