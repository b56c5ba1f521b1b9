"""OpenLineage in: RunEvent, DatasetEvent and JobEvent, as Marquez's `POST /api/v1/lineage` takes them.

One module per job: `models` (the core spec as pydantic models), `facet_schemas` (standard facets
against their JSON schemas in `spec/`), `events` (validation into `ParsedEvent`s), `limits` (what
one event may claim), `facets` (which facets fill which fields, newest event winning), `cycles`
(refusing events that would close a derivation cycle), `mapping` (events onto catalog rows) and
`ingest` (the transaction around it). The behaviour a producer sees is documented in
docs/openlineage.md.
"""

from catalog.openlineage.events import DatasetRef, JobRef, ParsedEvent, event_hash, parse_event, parse_events
from catalog.openlineage.facets import location_from_data_source
from catalog.openlineage.ingest import ingest_events, ingest_parsed
from catalog.openlineage.limits import DEFAULT_LIMITS, EventLimits
from catalog.openlineage.mapping import SOURCE, IngestResult
from catalog.openlineage.models import FACET_SCHEMAS, FEED_FACET, MODEL_FACET

__all__ = [
    "DEFAULT_LIMITS", "FACET_SCHEMAS", "FEED_FACET", "MODEL_FACET", "SOURCE", "DatasetRef", "EventLimits", "IngestResult", "JobRef", "ParsedEvent", "event_hash",
    "ingest_events", "ingest_parsed", "location_from_data_source", "parse_event", "parse_events",
]
