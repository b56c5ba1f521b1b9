"""Waivers: a known finding accepted for a while, by someone, for a reason.

A waiver names the root condition and the root dataset, and optionally one model. It is shown,
never hidden: a waived finding is reported as waived; an expired waiver stops applying and says
so; a waiver that matches nothing is reported as stale, so the file does not rot silently.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.document import format_loc, read_document
from catalog.errors import InvalidCatalogFile, Problem
from checks.policy import CONDITIONS

GATE_CONDITIONS = (*CONDITIONS, "check_errored")


class WaiverSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    condition: str = Field(description="the root condition id, e.g. breach_flagged (or check_errored)")
    dataset: str = Field(min_length=1, description="the root dataset: a name or dataset:NS:NAME")
    model: str | None = Field(default=None, description="only for this model; default every model")
    reason: str = Field(min_length=3)
    approved_by: str = Field(min_length=1)
    expires: date


class WaiversFileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[WaiverSpec] = Field(default_factory=list)


class Waiver(BaseModel):
    """A waiver as loaded: its spec, where it was written, and the nodes it names, resolved."""

    spec: WaiverSpec
    file: str
    line: int | None
    index: int
    dataset: str  # node id
    model: str | None  # node id of the version named, or of the model (`model:ns:name`) when named without one
    covers: list[str] = []  # the model versions it covers: the one named, or the model's deployed ones (else its newest)


def load_waivers(path: Path, resolve) -> list[Waiver]:
    """Read and check a waivers file; `resolve(name, kind)` turns a name into its node ids or raises
    (one for a dataset; a model named without a version may be several of its versions)."""
    document, problems = read_document(path)
    if problems:
        raise InvalidCatalogFile(problems, what="the waivers file")
    try:
        parsed = WaiversFileSpec.model_validate(document.data)
    except ValidationError as exc:
        raise InvalidCatalogFile([
            Problem(str(path), format_loc(tuple(e["loc"])), e["msg"], document.line_of(tuple(e["loc"])))
            for e in exc.errors()
        ], what="the waivers file") from None
    waivers, problems = [], []
    for index, spec in enumerate(parsed.waivers):
        loc = ("waivers", index)
        if spec.condition not in GATE_CONDITIONS:
            problems.append(Problem(str(path), format_loc(loc + ("condition",)),
                                    f"unknown condition {spec.condition!r}; expected one of: {', '.join(GATE_CONDITIONS)}",
                                    document.line_of(loc + ("condition",))))
            continue
        try:
            (dataset,) = resolve(spec.dataset, "dataset")
            covers = resolve(spec.model, "model") if spec.model else []
        except Exception as exc:  # NotFound / AmbiguousName: a waiver must name real nodes
            field = "model" if spec.model and spec.dataset and "model" in str(exc) else "dataset"
            problems.append(Problem(str(path), format_loc(loc + (field,)), str(exc), document.line_of(loc + (field,))))
            continue
        model = (covers[0] if len(covers) == 1 and "@" in spec.model else covers[0].rpartition("@")[0]) if covers else None
        waivers.append(Waiver(spec=spec, file=str(path), line=document.line_of(loc), index=index,
                              dataset=dataset, model=model, covers=covers))
    if problems:
        raise InvalidCatalogFile(problems, what="the waivers file")
    return waivers
