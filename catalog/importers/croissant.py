"""`headwater import croissant FILE.json…`: a dataset's governance record from its Croissant metadata.

Croissant (https://docs.mlcommons.org/croissant/docs/croissant-spec.html, 1.0 and 1.1) describes
an ML dataset in JSON-LD on top of schema.org/Dataset; its RAI vocabulary
(https://docs.mlcommons.org/croissant/docs/croissant-rai-spec.html) adds how the data was
collected, annotated and what it holds about people. The file is read as plain JSON (no
JSON-LD processor, nothing fetched): each property is found by the IRI its key expands to under
the file's own `@context` (`name`, `sc:name` and `https://schema.org/name` are one property),
with the usual prefixes (`sc`, `cr`, `rai`, `prov`, `dct`) known when the context leaves them out.

One file is one dataset in `--namespace` (default `croissant`) named by its `name`; MAPPING in
docs/import.md says what becomes what. Two readings are deliberately cautious:

- any `rai:personalSensitiveInformation` statement (other than a bare "none") makes the dataset
  `personal_data: true`, even one that says the data holds none: a person reads the statement,
  the importer does not; the GDPR Art. 9 categories it names (health, biometric, ...) are its
  `special_categories`, found by keyword, so "no health data" is read as health data too;
- `rai:dataBiases` is documentation, not a bias examination: it sets no `bias_status`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from catalog.errors import ConfigurationError
from catalog.imports import ImportPlan, ImportedDataset, checked_name

SOURCE = "croissant"
SCHEMA = "https://schema.org/"
CR = "http://mlcommons.org/croissant/"
RAI = "http://mlcommons.org/croissant/RAI/"
PROV = "http://www.w3.org/ns/prov#"
PREFIXES = {"sc": SCHEMA, "schema": SCHEMA, "cr": CR, "rai": RAI, "prov": PROV, "dct": "http://purl.org/dc/terms/"}
DOCUMENTED = (  # RAI property -> its label in `documentation`, in this order
    ("dataCollection", "Data collection"), ("dataCollectionType", "Collection type"),
    ("dataPreprocessingProtocol", "Preprocessing"), ("dataAnnotationProtocol", "Annotation"),
    ("dataBiases", "Biases"), ("dataLimitations", "Limitations"), ("dataUseCases", "Use cases"),
)
PART_LIMIT, DOCUMENTATION_LIMIT = 800, 4096
NONE_SAID = re.compile(r"^\s*(none|no|n/?a|not applicable|nil)\s*\.?\s*$", re.I)
# GDPR Art. 9(1) categories (and Art. 10 criminal-offence data) by the words a statement names them with.
SPECIAL = {
    "ethnicity": r"racial|race|ethnic\w*",
    "political_opinions": r"political (?:opinions?|views?|affiliations?|beliefs?)|politics",
    "religion": r"religio\w*|philosophical beliefs?",
    "trade_union": r"trade[- ]union\w*|union membership",
    "genetic": r"genetic\w*|genom\w*|dna",
    "biometric": r"biometric\w*|fingerprints?|face ?prints?|facial (?:recognition|geometry)|iris scans?|voice ?prints?",
    "health": r"health|medical|clinical|diagnos\w*|patients?|diseases?|disabilit\w*|mental",
    "sex_life": r"sex life|sexual (?:life|activity|behaviou?r|health)",
    "sexual_orientation": r"sexual orientation|sexuality|lgbt\w*",
    "criminal_offences": r"criminal|convictions?|offen[cs]es?",
}
_SPECIAL = {code: re.compile(rf"\b(?:{words})\b", re.I) for code, words in SPECIAL.items()}


def plan_import(paths: list[Path], *, namespace: str = SOURCE) -> ImportPlan:
    """One dataset per file (and one per dataset it was derived from); every file is read first."""
    plan = ImportPlan(source=SOURCE)
    described: dict[str, tuple[Path, ImportedDataset]] = {}
    sources: dict[str, list[ImportedDataset]] = {}
    for doc in [_read(path) for path in paths]:
        dataset = _dataset(doc, namespace)
        if dataset.handle in described:
            raise ConfigurationError(f"{doc.path} and {described[dataset.handle][0]} both describe the dataset "
                                     f"{namespace}:{dataset.key[1]}; import one of them")
        described[dataset.handle] = (doc.path, dataset)
        sources[dataset.handle] = _derived_from(doc, namespace)
    # a dataset one file derives from and another describes (by its URL or its name) is that one
    own = {d.location: h for h, (_, d) in described.items() if d.location} | {
        f"{d.key[0]}:{d.key[1]}": h for h, (_, d) in described.items()}
    mentioned: dict[str, ImportedDataset] = {}
    for output, inputs in sources.items():
        handles = set()
        for source in inputs:
            handle = own.get(source.location or "") or own.get(f"{source.key[0]}:{source.key[1]}") or source.handle
            if handle != output:
                handles.add(handle)
                if handle not in described:
                    mentioned.setdefault(handle, source)
        if handles:
            plan.derivations[output] = {(handle, None) for handle in handles}
    plan.datasets = [d for _, d in described.values()] + list(mentioned.values())
    return plan


def _read(path: Path) -> "_Document":
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such file; expected a Croissant JSON-LD file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path}: not a readable JSON file: {exc}") from None
    doc = _Document(path, data if isinstance(data, dict) else {})
    if not isinstance(data, dict) or "@context" not in data or not doc.is_a(data.get("@type"), SCHEMA + "Dataset"):
        found = data.get("@type") if isinstance(data, dict) else None
        raise ConfigurationError(f"{path}: not a Croissant JSON-LD file: expected @context and @type sc:Dataset "
                                 f"(schema.org/Dataset), found {'@type ' + repr(found) if found else 'neither'}")
    return doc


class _Document:
    """A Croissant file's top-level object, read by expanded property IRIs."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.context: dict[str, Any] = {}
        contexts = data.get("@context")
        for context in contexts if isinstance(contexts, list) else [contexts]:
            if isinstance(context, dict):
                self.context.update(context)
        self.vocab = self.context.get("@vocab") if isinstance(self.context.get("@vocab"), str) else SCHEMA
        self.properties: dict[str, Any] = {}
        for key, value in data.items():
            if not key.startswith("@"):
                self.properties.setdefault(self.expand(key), value)

    def expand(self, term: str, *, depth: int = 0) -> str:
        """The IRI a key (or a type) stands for: a context term, a prefix:suffix, an IRI, or the @vocab."""
        if depth < 5 and term in self.context and not term.startswith("@"):
            target = self.context[term]
            target = target.get("@id") if isinstance(target, dict) else target
            if isinstance(target, str) and target != term:
                return self.expand(target, depth=depth + 1)
        prefix, colon, suffix = term.partition(":")
        if colon and not suffix.startswith("//"):
            base = self.context.get(prefix)
            base = base if isinstance(base, str) else PREFIXES.get(prefix)
            if base:
                return _schema(base + suffix)
        if colon:
            return _schema(term)
        if term.startswith("schema.org/"):  # as the RAI specification's own example writes its type
            return SCHEMA + term[len("schema.org/"):]
        return _schema(self.vocab + term)

    def is_a(self, value: Any, iri: str) -> bool:
        """Whether a `@type` (one or a list) is `iri`; a Croissant class is matched by its local name."""
        types = [self.expand(t) for t in (value if isinstance(value, list) else [value]) if isinstance(t, str)]
        return iri in types or (iri.startswith(CR) and any(t.endswith("/" + iri[len(CR):]) for t in types))

    def field(self, item: Any, name: str) -> Any:
        """A schema.org property of a nested object (a licence, a creator, a file), however its key is written."""
        if not isinstance(item, dict):
            return None
        return next((value for key, value in item.items()
                     if not key.startswith("@") and self.expand(key) == SCHEMA + name), None)

    def get(self, *iris: str) -> Any:
        return next((self.properties[iri] for iri in iris if iri in self.properties), None)

    def rai(self, name: str) -> list[str]:
        """An RAI property's texts; some published files map the RAI names into the `cr` namespace."""
        return _texts(self.get(RAI + name, CR + name))


def _schema(iri: str) -> str:
    return SCHEMA + iri[len("http://schema.org/"):] if iri.startswith("http://schema.org/") else iri


def _dataset(doc: _Document, namespace: str) -> ImportedDataset:
    names = _texts(doc.get(SCHEMA + "name"))
    if not names:
        raise ConfigurationError(f"{doc.path}: the dataset has no name; a Croissant dataset must have one")
    name = checked_name(doc.path, names[0], "name")
    fields: dict[str, Any] = {"description": _joined(_texts(doc.get(SCHEMA + "description")), 100_000)}
    fields.update(_licence(doc))
    fields["owner"] = _joined(_agents(doc, doc.get(SCHEMA + "creator")) or
                              _agents(doc, doc.get(SCHEMA + "publisher")), 1000, sep=", ")
    statements = [s for s in doc.rai("personalSensitiveInformation") if not NONE_SAID.match(s)]
    fields["personal_data"] = True if statements else None
    said = " ".join(statements)
    fields["special_categories"] = [code for code, words in _SPECIAL.items() if words.search(said)]
    parts = []
    for prop, label in DOCUMENTED:
        text = _sentences(doc.rai(prop), PART_LIMIT)
        if text:
            parts.append(f"{label}: {text}")
    fields["documentation"] = _joined(parts, DOCUMENTATION_LIMIT, sep="\n")
    fields["last_updated"] = next(filter(None, (_moment(t) for key in ("dateModified", "datePublished")
                                                for t in _texts(doc.get(SCHEMA + key))[:1])), None)
    fields["tags"] = list(dict.fromkeys(t for t in _texts(doc.get(SCHEMA + "keywords")) if len(t) <= 200))
    return ImportedDataset(handle=f"{namespace}:{name}", key=(namespace, name), location=_location(doc),
                           fields=fields)


def _licence(doc: _Document) -> dict[str, Any]:
    """`license` as the licence id, as written (a URL is kept as its text); a single URL is also its link."""
    ids: list[str] = []
    urls: list[str] = []
    value = doc.get(SCHEMA + "license")
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "@value" not in item:
            url = next(iter(_texts(doc.field(item, "url") or item.get("@id"))), None)
            text = next(iter(_texts(doc.field(item, "name"))), None) or url
            urls += [url] if url and _is_url(url) else []
        else:
            text = next(iter(_texts(item)), None)
            urls += [text] if text and _is_url(text) else []
        if text and text not in ids:
            ids.append(text)
    return {"licence_id": _joined(ids, 1000, sep=" AND "), "licence_url": urls[0] if len(urls) == 1 else None}


def _agents(doc: _Document, value: Any) -> list[str]:
    """Person or Organization names (or a plain string), in order."""
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "@value" not in item:
            name = _texts(doc.field(item, "name") or doc.field(item, "url") or item.get("@id"))
        else:
            name = _texts(item)
        found += [n for n in name[:1] if n not in found]
    return found


def _location(doc: _Document) -> str | None:
    """The one FileObject's contentUrl (a relative path resolved against the file's folder); with none or
    several, the dataset's `url`; with no `url`, the first FileObject's."""
    contents = []
    distribution = doc.get(SCHEMA + "distribution")
    for item in distribution if isinstance(distribution, list) else [distribution]:
        if isinstance(item, dict) and doc.is_a(item.get("@type"), CR + "FileObject"):
            contents += _texts(doc.field(item, "contentUrl"))[:1]
    urls = _texts(doc.get(SCHEMA + "url"))
    chosen = contents[0] if len(contents) == 1 else (urls[0] if urls else (contents[0] if contents else None))
    if chosen is None:
        return None
    parsed = urlparse(chosen)
    if parsed.scheme in ("", "file") or re.fullmatch(r"[A-Za-z]", parsed.scheme):  # a path, or C:\ on Windows
        local = Path(unquote(parsed.path) if parsed.scheme == "file" else chosen).expanduser()
        chosen = str((local if local.is_absolute() else doc.path.resolve().parent / local).resolve())
    return chosen if len(chosen) <= 4096 else None


def _derived_from(doc: _Document, namespace: str) -> list[ImportedDataset]:
    """`prov:wasDerivedFrom`: a URL or id, or an object with @id / url / name; one or a list."""
    value = doc.get(PROV + "wasDerivedFrom")
    found: list[ImportedDataset] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "@value" not in item:
            ref = next(iter(_texts(doc.field(item, "url") or item.get("@id"))), None)
            label = next(iter(_texts(doc.field(item, "name"))), None)
        else:
            ref, label = next(iter(_texts(item)), None), None
        if not ref and not label:
            continue
        name = checked_name(doc.path, label or _last_segment(ref or ""), "prov:wasDerivedFrom")
        location = ref if ref and _is_url(ref) and len(ref) <= 4096 else None
        found.append(ImportedDataset(handle=location or f"{namespace}:{name}", key=(namespace, name),
                                     location=location))
    return found


def _last_segment(ref: str) -> str:
    """`https://host/datasets/imdb/` -> imdb; `urn:dataset:ImageNet` -> ImageNet."""
    parsed = urlparse(ref)
    path = parsed.path if parsed.netloc else ref
    return unquote(re.split(r"[/:#]", path.rstrip("/:#"))[-1]) or ref


def _texts(value: Any) -> list[str]:
    """The text values of a JSON-LD value: a string, a number, {"@value": ...}, or a list of those."""
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("@value")
        if isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item).strip():
            out.append(" ".join(str(item).split()))
    return out


def _joined(parts: list[str], limit: int, *, sep: str = " ") -> str | None:
    text = sep.join(parts)
    return (text if len(text) <= limit else text[:limit - 1] + "…") or None


def _sentences(parts: list[str], limit: int) -> str | None:
    """Texts one after the other: a sentence ends itself, a phrase is followed by '; '."""
    text = ""
    for part in parts:
        text += part if not text else (" " if text.endswith((".", "!", "?")) else "; ") + part
    return _joined([text], limit) if text else None


def _is_url(text: str) -> bool:
    parsed = urlparse(text)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _moment(text: str) -> datetime | None:
    """A Date or DateTime as schema.org writes them; anything else (a bare year, prose) is left out."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
