"""Standard facets checked against their own JSON schemas, bundled in `spec/` (OpenLineage 1.52.0).

Chosen by facet name and place (run, job, dataset, input or output facet); `uuid` and `date-time`
formats are enforced too. Validators are built once per process, and verdicts on identical facets
are cached, since producers send the same facet over and over.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from catalog.errors import InvalidEvent
from catalog.openlineage.models import UUID, parse_date_time

SPEC_DIR = Path(__file__).resolve().parent / "spec"


class _FacetSchemas:
    """(core facet type, facet name) -> a jsonschema validator, from the bundled spec files."""

    def __init__(self) -> None:
        from jsonschema import Draft202012Validator, FormatChecker
        from referencing import Registry, Resource

        core = json.loads((SPEC_DIR / "OpenLineage.json").read_text(encoding="utf-8"))
        files = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SPEC_DIR / "facets").glob("*.json"))]
        registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in [core, *files])
        formats = FormatChecker(formats=())

        @formats.checks("uuid")
        def _is_uuid(value: Any) -> bool:
            return not isinstance(value, str) or UUID.fullmatch(value) is not None

        @formats.checks("date-time", raises=ValueError)
        def _is_date_time(value: Any) -> bool:
            if isinstance(value, str):
                parse_date_time(value)
            return True

        self.validators: dict[tuple[str, str], tuple[str, Any]] = {}
        for facet_file in files:
            title = facet_file["$id"].rsplit("/", 1)[1].removesuffix(".json")
            for key, prop in facet_file["properties"].items():
                refs = [prop] if "$ref" in prop else prop.get("anyOf", []) + prop.get("oneOf", [])
                for ref in refs:
                    name = ref["$ref"].rsplit("/", 1)[1]
                    for parent in self._parents(core["$id"], facet_file, name):
                        validator = Draft202012Validator({"$ref": f"{facet_file['$id']}#/$defs/{name}"},
                                                         registry=registry, format_checker=formats)
                        self.validators[(parent, key)] = (title, validator)
        self._cache: dict[tuple[str, str, str], InvalidEvent | None] = {}

    @classmethod
    def _parents(cls, core_id: str, facet_file: dict[str, Any], name: str) -> set[str]:
        definition = facet_file["$defs"][name]
        found = set()
        for part in definition.get("allOf", []):
            if part.get("$ref", "").startswith(core_id):
                found.add(part["$ref"].rsplit("/", 1)[1])
        for part in definition.get("oneOf", []) + definition.get("anyOf", []):
            if part.get("$ref", "").startswith("#/$defs/"):
                found |= cls._parents(core_id, facet_file, part["$ref"].rsplit("/", 1)[1])
        return found

    def check(self, facet_type: str, key: str, facet: Any, where: str) -> None:
        entry = self.validators.get((facet_type, key))
        if entry is None:
            return
        cache_key = (facet_type, key, repr(facet))  # repr tells JSON values apart (1, 1.0, True) and is cheap
        if cache_key in self._cache:
            problem = self._cache[cache_key]
        else:
            problem = self._first_problem(entry, facet)
            if len(self._cache) >= 8192:
                self._cache.clear()
            self._cache[cache_key] = problem
        if problem is not None:
            raise InvalidEvent(f"{where}.{key}{problem.path}", problem.reason)

    @staticmethod
    def _first_problem(entry: tuple[str, Any], facet: Any) -> InvalidEvent | None:
        from jsonschema.exceptions import best_match

        title, validator = entry
        error = best_match(validator.iter_errors(facet))
        if error is None:
            return None
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = next((p for p in error.validator_value if p not in error.instance), None)
            path += f".{missing}" if missing else ""
            reason = "required field is missing"
        elif error.validator == "type":
            wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            names = {"integer": "an integer", "number": "a number", "string": "a string", "object": "an object",
                     "array": "an array", "boolean": "true or false", "null": "null"}
            reason = f"expected {' or '.join(names.get(w, w) for w in wanted)}, got {json.dumps(error.instance)[:60]}"
        elif error.validator == "format":
            reason = {"uuid": "expected a UUID", "date-time": "expected an ISO 8601 date-time"}.get(error.validator_value, f"expected a {error.validator_value}")
        elif error.validator == "enum":
            reason = f"expected one of {', '.join(map(str, error.validator_value))}, got {json.dumps(error.instance)[:60]}"
        else:
            reason = error.message
        return InvalidEvent(path, f"{reason} ({title} schema)")


@lru_cache(maxsize=1)
def _facet_schemas() -> _FacetSchemas:
    return _FacetSchemas()


def check_standard_facets(obj: dict[str, Any]) -> None:
    schemas = _facet_schemas()

    def facets_of(holder: Any, key: str) -> dict[str, Any]:
        value = holder.get(key) if isinstance(holder, dict) else None
        return value if isinstance(value, dict) else {}

    places = [("run.facets", "RunFacet", facets_of(obj.get("run"), "facets")),
              ("job.facets", "JobFacet", facets_of(obj.get("job"), "facets")),
              ("dataset.facets", "DatasetFacet", facets_of(obj.get("dataset"), "facets"))]
    for side, extra, extra_type in (("inputs", "inputFacets", "InputDatasetFacet"),
                                    ("outputs", "outputFacets", "OutputDatasetFacet")):
        for i, dataset in enumerate(obj.get(side) or []):
            places.append((f"{side}[{i}].facets", "DatasetFacet", facets_of(dataset, "facets")))
            places.append((f"{side}[{i}].{extra}", extra_type, facets_of(dataset, extra)))
    for where, facet_type, facets in places:
        for key, facet in facets.items():
            if isinstance(facet, dict) and facet.get("_deleted") is True:
                continue  # a deletion marker carries no body to check
            schemas.check(facet_type, key, facet, where)
