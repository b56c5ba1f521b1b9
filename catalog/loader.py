"""`headwater load`: catalog files into the store, all or nothing.

Loading is in two passes. The first reads and validates every file and resolves every reference
(against the files and the store) without writing; any problem stops the load with the complete
list of problems. The second writes everything in one transaction. A catalog file is declarative
for what it declares: a dataset's `derived_from` and a model's `trained_on` replace the edges that
earlier catalog loads gave it, but never edges that arrived from OpenLineage.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog import sniff
from catalog.document import Document, Loc, format_loc, read_document
from catalog.errors import ConfigurationError, InvalidCatalogFile, Problem
from catalog.expectations import ExpectationProblem, normalise, read_suite_file
from catalog.locations import parse_location
from catalog.names import how_they_differ, key_skeleton
from catalog.retry import retry_lost_races
from catalog.spec import CatalogFileSpec, DatasetSpec, ModelSpec
from catalog.store import Change, Store, Writer

Key = tuple[str, str]  # (namespace, name)


@dataclass
class LoadResult:
    files: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    revision: int = 0

    def count(self, kind: str, change: Change) -> None:
        bucket = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        bucket[change] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())


@dataclass
class _Declared:
    """One dataset or model as declared in one file, with where it was declared."""

    key: Key
    spec: Any
    doc: Document
    loc: Loc
    namespace: str  # the file's default namespace, used to resolve the names it refers to

    def problem(self, message: str, *extra: str | int) -> Problem:
        loc = self.loc + tuple(extra)
        return Problem(str(self.doc.path), format_loc(loc), message, self.doc.line_of(loc))


def load_catalog(store: Store, paths: Sequence[Path]) -> LoadResult:
    """Validate `paths` together and upsert them in one transaction; raise InvalidCatalogFile."""
    if not paths:
        raise ConfigurationError("nothing to load: no catalog files were given")
    documents: list[tuple[Document, CatalogFileSpec]] = []
    problems: list[Problem] = []
    for path in paths:
        document, read_problems = read_document(Path(path))
        problems += read_problems
        if document is None:
            continue
        try:
            documents.append((document, CatalogFileSpec.model_validate(document.data)))
        except ValidationError as exc:
            other = sniff.describe(document.data, suffix=Path(path).suffix)
            problems += [Problem(str(path), "", other, 1)] if other else _validation_problems(document, exc)
    if problems:
        raise InvalidCatalogFile(problems)
    return _load(store, documents, [str(Path(p)) for p in paths])


def load_document(store: Store, data: dict[str, Any], *, source: str, base: Path) -> LoadResult:
    """Load one catalog document given as data (the API's PUT bodies), exactly as a file would load.

    `source` names it in errors; relative locations resolve against `base`.
    """
    document = Document(base / source, data)
    try:
        spec = CatalogFileSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidCatalogFile(_validation_problems(document, exc)) from None
    return _load(store, [(document, spec)], [source])


def _load(store: Store, documents: list[tuple[Document, CatalogFileSpec]], files: list[str]) -> LoadResult:
    """Prepare without the store, judge changed suites without the write lock, then one transaction.

    Great Expectations takes seconds to import and to build a suite: done inside the transaction,
    every other writer (a PUT, an OpenLineage POST, a check run) waited for it. The verdicts are
    kept by suite hash, so the transaction only asks GX again about a suite someone changed in the
    store in between. The plan's cycle check reads the store's edges inside the transaction, which
    waits for any other writer first (`Store.transaction`): a concurrent load or ingestion commits
    before the check, or after this commit, never in between. A lost race runs the transaction again
    (catalog/retry.py), not the preparation.
    """
    plan = _Plan(documents)
    plan.judge_suites(store)

    def write() -> LoadResult:
        result = LoadResult(files=files)
        with store.transaction() as writer:
            problems = plan.bind(writer)
            if problems:
                raise InvalidCatalogFile(problems)
            plan.apply(result)
        result.revision = store.revision()
        return result

    return retry_lost_races(write)


def _validation_problems(document: Document, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        problems.append(Problem(str(document.path), format_loc(loc), _explain(error), document.line_of(loc)))
    return problems


def _explain(error: dict[str, Any]) -> str:
    """pydantic's message, reworded where it is unclear to someone editing YAML."""
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _fields_at(tuple(error["loc"][:-1]))
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(allowed)}"
        return f"unknown field; {hint}"
    if kind == "missing":
        return "required field is missing"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message[0].lower() + message[1:] if message else message
    if given is not None and not isinstance(given, (dict, list)):
        shown = repr(given)  # cut short: a 9 MB value must not come back as a 9 MB error
        message += f" (got {shown if len(shown) <= 200 else shown[:200] + f'… ({len(shown):,} characters)'})"
    return message


def _fields_at(loc: tuple) -> list[str]:
    """The field names allowed at `loc` in the catalog file schema, for "did you mean" hints."""
    import typing

    from pydantic import BaseModel

    current: Any = CatalogFileSpec
    for part in loc:
        if isinstance(part, int):
            args = [a for a in typing.get_args(current) if a is not type(None)]
            current = args[0] if args else current
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        current = current.model_fields[part].annotation
        while typing.get_origin(current) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            current = next(a for a in typing.get_args(current) if a is not type(None))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


class _Plan:
    """Everything a load will write, resolved and checked before the first write."""

    def __init__(self, documents: list[tuple[Document, CatalogFileSpec]]) -> None:
        """What the files say, read and normalised (suite files included) without touching the store."""
        self.documents = documents
        self.problems: list[Problem] = []
        self.datasets: dict[Key, _Declared] = {}
        self.models: dict[Key, _Declared] = {}
        self.locations: dict[Key, str | None] = {}
        self.expectations: dict[Key, list[dict[str, Any]]] = {}
        self.expectation_origins: dict[Key, list[tuple[str, int]]] = {}
        self.suite_files: dict[Key, str | None] = {}
        self.suite_verdicts: dict[str, list[tuple[int, ExpectationProblem]]] = {}  # suite hash -> GX's problems
        self._declare()
        self.policy = self._policy()
        for key, declared in self.datasets.items():
            self._normalise_expectations(key, declared)
            self._parse_location(key, declared)
        self._prepared = list(self.problems)

    def judge_suites(self, store: Store) -> None:
        """GX's verdict on every suite that differs from the stored one, read outside the write lock."""
        with store.read() as session:
            stored = Writer(session).stored_expectations([key for key in self.datasets if self.expectations[key]])
        changed = [e for key, e in self.expectations.items() if e and stored.get(key) != e]
        if changed:
            from catalog.expectations import suite_hash, validate

            for expectations in changed:
                self.suite_verdicts.setdefault(suite_hash(expectations), validate(expectations))

    def bind(self, writer: Writer) -> list[Problem]:
        """Check the plan against the store, inside the write transaction; every problem found."""
        self.writer = writer
        self.problems = list(self._prepared)  # a retried transaction starts again from the preparation's
        self.stored_datasets = set(writer.dataset_keys())
        self.stored_models = set(writer.model_keys())
        self.known_datasets = self.stored_datasets | set(self.datasets)
        self.known_models = self.stored_models | set(self.models)
        self.derived_from: dict[Key, list[Key]] = {}
        self.feeds: dict[Key, list[tuple[Key, Any]]] = {}
        self.base_models: dict[Key, Key | None] = {}
        self.incidents: list[tuple[Key, Any]] = []
        self._refuse_lookalikes()
        self._resolve()
        if not self.problems:
            self._check_cycles()
        self._validate_changed_expectations()
        return self.problems

    # --- pass 1: what is declared where ---------------------------------------------------------
    def _declare(self) -> None:
        for doc, spec in self.documents:
            for kind, items, registry in (("datasets", spec.datasets, self.datasets), ("models", spec.models, self.models)):
                for index, item in enumerate(items):
                    declared = _Declared((item.namespace or spec.catalog, item.name), item, doc, (kind, index), spec.catalog)
                    first = registry.get(declared.key)
                    if first is not None:
                        where = f"{first.doc.path}:{first.doc.line_of(first.loc)}"
                        self.problems.append(
                            declared.problem(f"duplicate {kind[:-1]} '{item.name}' (first declared at {where})", "name")
                        )
                        continue
                    registry[declared.key] = declared

    def _refuse_lookalikes(self) -> None:
        """A name that reads as another dataset's or model's is refused: in these files, or in the store."""
        for kind, registry, stored in (("dataset", self.datasets, self.stored_datasets),
                                       ("model", self.models, self.stored_models)):
            first_by_skeleton: dict[str, _Declared] = {}
            refused: set[Key] = set()
            for key, declared in registry.items():
                first = first_by_skeleton.setdefault(key_skeleton(*key), declared)
                if first is not declared:
                    where = f"{first.doc.path}:{first.doc.line_of(first.loc)}"
                    self.problems.append(declared.problem(_lookalike(kind, key, first.key, f" (declared at {where})"), "name"))
                    refused.add(key)
            new = [key for key in registry if key not in stored and key not in refused]
            for key, existing in self.writer.lookalikes(kind, new).items():
                self.problems.append(registry[key].problem(_lookalike(kind, key, existing, " in the store"), "name"))

    # --- pass 2: references ---------------------------------------------------------------------
    def _resolve(self) -> None:
        for key, declared in self.datasets.items():
            spec: DatasetSpec = declared.spec
            self.derived_from[key] = [
                ref for i, name in enumerate(spec.derived_from)
                if (ref := self._dataset_ref(name, declared, "derived_from", i)) is not None
            ]
            if key in self.derived_from[key]:
                self.problems.append(declared.problem("a dataset cannot be derived from itself", "derived_from"))
        for key, declared in self.models.items():
            spec: ModelSpec = declared.spec
            feeds = []
            for i, feed in enumerate(spec.trained_on):
                ref = self._dataset_ref(feed.dataset, declared, "trained_on", i, "dataset")
                if ref is not None:
                    feeds.append((ref, feed))
            self.feeds[key] = feeds
            self.base_models[key] = None
            if spec.base_model:
                base = self._ref(spec.base_model, declared.namespace, self.known_models, "model")
                if isinstance(base, str):
                    self.problems.append(declared.problem(base, "base_model"))
                elif base == key:
                    self.problems.append(declared.problem("a model cannot be its own base model", "base_model"))
                else:
                    self.base_models[key] = base
        for doc, spec in self.documents:
            for index, incident in enumerate(spec.incidents):
                ref = self._ref(incident.dataset, spec.catalog, self.known_datasets, "dataset")
                if isinstance(ref, str):
                    loc = ("incidents", index, "dataset")
                    self.problems.append(Problem(str(doc.path), format_loc(loc), ref, doc.line_of(loc)))
                else:
                    self.incidents.append((ref, incident))

    def _policy(self) -> str | None:
        """The policy file named by the catalog files (resolved), if any; they must agree."""
        named: dict[str, Document] = {}
        for doc, spec in self.documents:
            if spec.policy:
                path = Path(spec.policy)
                path = path if path.is_absolute() else doc.path.resolve().parent / path
                if not path.is_file():
                    self.problems.append(Problem(str(doc.path), "policy", f"policy file {path} not found", doc.line_of(("policy",))))
                named.setdefault(str(path.resolve()), doc)
        if len(named) > 1:
            doc = list(named.values())[1]
            self.problems.append(Problem(str(doc.path), "policy", "the files of one load name different policies: "
                                         + ", ".join(named), doc.line_of(("policy",))))
        return next(iter(named), None)

    def _parse_location(self, key: Key, declared: _Declared) -> None:
        self.locations[key] = None
        if declared.spec.location:
            try:
                self.locations[key] = parse_location(declared.spec.location, declared.doc.path.resolve().parent).value
            except ValueError as exc:
                self.problems.append(declared.problem(str(exc), "location"))

    def _normalise_expectations(self, key: Key, declared: _Declared) -> None:
        """Inline entries, then those of `expectations_file`, in GX's suite shape."""
        spec: DatasetSpec = declared.spec
        entries: list[tuple[str, int, Any]] = [("expectations", i, e) for i, e in enumerate(spec.expectations)]
        self.suite_files[key] = None
        if spec.expectations_file:
            path = Path(spec.expectations_file)
            path = path if path.is_absolute() else declared.doc.path.resolve().parent / path
            self.suite_files[key] = str(path.resolve())
            try:
                entries += [("expectations_file", i, e) for i, e in enumerate(read_suite_file(path))]
            except ExpectationProblem as problem:
                self.problems.append(declared.problem(str(problem), "expectations_file"))
        normalised, origins = [], []
        for field_name, index, entry in entries:
            try:
                normalised.append(normalise(entry))
                origins.append((field_name, index))
            except ExpectationProblem as problem:
                self.problems.append(self._expectation_problem(declared, field_name, index, problem))
        self.expectations[key] = normalised
        self.expectation_origins[key] = origins

    @staticmethod
    def _expectation_problem(declared: _Declared, field_name: str, index: int, problem: ExpectationProblem) -> Problem:
        if field_name == "expectations":
            return declared.problem(str(problem), "expectations", index, *problem.where[:1])
        return declared.problem(f"expectation {index} of the suite file: {problem}", "expectations_file")

    def _validate_changed_expectations(self) -> None:
        """GX's verdict on every suite that differs from the stored one; unchanged suites cost nothing.

        `judge_suites` asked GX before the lock; only a suite whose stored copy changed since then
        (another writer in between) is judged here, inside it.
        """
        stored = self.writer.stored_expectations([key for key in self.datasets if self.expectations[key]])
        for key, expectations in self.expectations.items():
            if not expectations or stored.get(key) == expectations:
                continue
            from catalog.expectations import suite_hash, validate

            digest = suite_hash(expectations)
            if digest not in self.suite_verdicts:
                self.suite_verdicts[digest] = validate(expectations)
            for position, problem in self.suite_verdicts[digest]:
                field_name, index = self.expectation_origins[key][position]
                self.problems.append(self._expectation_problem(self.datasets[key], field_name, index, problem))

    def _dataset_ref(self, name: str, declared: _Declared, *loc: str | int) -> Key | None:
        ref = self._ref(name, declared.namespace, self.known_datasets, "dataset")
        if isinstance(ref, str):
            self.problems.append(declared.problem(ref, *loc))
            return None
        return ref

    @staticmethod
    def _ref(name: str, namespace: str, known: set[Key], kind: str) -> Key | str:
        """Resolve a reference to a key, or return the problem as text.

        Accepted: `kind:namespace:name` (namespaces may hold ':'), a name in the file's own
        namespace, or a name that exists in exactly one namespace.
        """
        prefix = f"{kind}:"
        if name.startswith(prefix):
            rest = name[len(prefix):]
            for cut in range(len(rest)):
                if rest[cut] == ":" and (rest[:cut], rest[cut + 1:]) in known:
                    return (rest[:cut], rest[cut + 1:])
        elif (namespace, name) in known:
            return (namespace, name)
        else:
            matches = sorted(k for k in known if k[1] == name)
            if len(matches) == 1:
                return matches[0]
            if matches:
                options = ", ".join(f"{kind}:{ns}:{n}" for ns, n in matches)
                return f"'{name}' is ambiguous; write one of: {options}"
        close = difflib.get_close_matches(name, sorted({k[1] for k in known}), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown {kind} '{name}': expected a {kind} declared in a catalog file or already in the store{hint}"

    def _check_cycles(self) -> None:
        import networkx as nx

        graph = nx.DiGraph()
        for inp, out, source in self.writer.derivation_keys():
            if source == "catalog" and out in self.datasets:
                continue  # this load replaces those edges
            graph.add_edge(inp, out)
        declared = {(inp, out) for out, inputs in self.derived_from.items() for inp in inputs}
        graph.add_edges_from(declared)
        if not nx.is_directed_acyclic_graph(graph):  # linear; find_cycle alone is not, on a million edges
            self._report_cycles(graph, declared)
        bases = nx.DiGraph((model, base) for model, base in self.base_models.items() if base)
        try:
            loop = nx.find_cycle(bases)
        except nx.NetworkXNoCycle:
            loop = None
        if loop:
            names = " -> ".join(node[1] for node, _ in loop) + f" -> {loop[0][0][1]}"
            self.problems.append(self.models[loop[0][0]].problem(f"base_model cycle: {names}", "base_model"))

    def _report_cycles(self, graph, declared: set[tuple[Key, Key]]) -> None:
        """One problem per cycle that runs through an edge this load declares.

        A cycle the store already held (one written before cycles were refused everywhere) is not
        this load's doing and must not hide the file's own: every strongly connected component is
        judged by the edges of this load inside it, not by whichever cycle networkx finds first.
        """
        import networkx as nx

        ordered = sorted(declared)
        for component in nx.strongly_connected_components(graph):
            if len(component) < 2 and not any(graph.has_edge(n, n) for n in component):
                continue
            edge = next(((i, o) for i, o in ordered if i in component and o in component), None)
            if edge is None:
                continue
            cycle = nx.find_cycle(graph.subgraph(component), source=edge[1])
            names = " -> ".join(node[1] for node, _ in cycle) + f" -> {cycle[0][0][1]}"
            self.problems.append(self.datasets[edge[1]].problem(
                f"derivation cycle: {names}; lineage must flow one way", "derived_from"))

    # --- the write ------------------------------------------------------------------------------
    def apply(self, result: LoadResult) -> None:
        """Write the plan a table at a time (`catalog.bulk`): a reference catalog loads in seconds, not hours."""
        from catalog.bulk import Bulk
        from catalog.schema import Dataset, Model

        bulk = Bulk(self.writer)
        ids, changes = bulk.upsert_named(Dataset, {key: self._dataset_fields(d) for key, d in self.datasets.items()})
        referenced = {ref for refs in self.derived_from.values() for ref in refs}
        referenced |= {ref for feeds in self.feeds.values() for ref, _ in feeds}
        referenced |= {ref for ref, _ in self.incidents}
        ids.update(bulk.ids(Dataset, referenced - ids.keys()))
        jobs = bulk.ensure_jobs({(key[0], d.spec.job) for key, d in self.datasets.items() if d.spec.job})
        wanted = {}
        for key, declared in self.datasets.items():
            job = jobs[(key[0], declared.spec.job)] if declared.spec.job else None
            wanted[ids[key]] = {(ids[ref], job) for ref in self.derived_from[key]}
        rewired = bulk.replace_derivations(wanted, source="catalog")
        for key in self.datasets:
            change = "updated" if changes[key] == "unchanged" and ids[key] in rewired else changes[key]
            result.count("datasets", change)

        model_ids, model_changes = bulk.upsert_named(Model, {key: self._model_fields(d) for key, d in self.models.items()})
        bases = {base for base in self.base_models.values() if base}
        model_ids.update(bulk.ids(Model, bases - model_ids.keys()))
        rebased = bulk.set_column(Model, {model_ids[key]: model_ids[base] if base else None
                                          for key, base in self.base_models.items()}, "base_model_id")
        fed = bulk.replace_feeds({
            model_ids[key]: {(ids[ref], feed.role): {"fingerprint": feed.fingerprint, "consumed_at": feed.at}
                             for ref, feed in self.feeds[key]}
            for key in self.models
        }, source="catalog")
        for key in self.models:
            change = model_changes[key]
            if change == "unchanged" and model_ids[key] in rebased | fed:
                change = "updated"
            result.count("models", change)

        incidents = {
            (ids[ref], incident.kind, incident.opened): {
                "resolved": incident.resolved, "note": incident.note,
                "effective_from": incident.effective_from, "due": incident.due,
            }
            for ref, incident in self.incidents
        }
        for change in bulk.upsert_incidents(incidents).values():
            result.count("incidents", change)
        if self.policy is not None:
            self.writer.set_setting("policy", self.policy)

    def _dataset_fields(self, declared: _Declared) -> dict[str, Any]:
        spec: DatasetSpec = declared.spec
        defaults = next(s.defaults for d, s in self.documents if d is declared.doc)
        licence = spec.licence
        return {
            "description": spec.description,
            "location": self.locations[declared.key],
            "owner": spec.owner or defaults.owner,
            "origin": spec.origin or defaults.origin,
            "personal_data": spec.personal_data,
            "special_categories": list(spec.special_categories),
            "legal_basis": spec.legal_basis,
            "purpose": spec.purpose,
            "licence_id": licence.id if licence else None,
            "licence_expires": licence.expires if licence else None,
            "licence_url": licence.url if licence else None,
            "licence_revoked": licence.revoked if licence else False,
            "retention": spec.retention or defaults.retention,
            "freshness": spec.freshness or defaults.freshness,
            "last_updated": spec.last_updated,
            "documentation": spec.documentation,
            "special_category_basis": spec.special_category_basis,
            "collected": spec.collected,
            "retention_until": spec.retention_until,
            "tdm_status": spec.tdm_reservation.status if spec.tdm_reservation else None,
            "tdm_method": spec.tdm_reservation.method if spec.tdm_reservation else None,
            "tdm_checked": spec.tdm_reservation.checked if spec.tdm_reservation else None,
            "deid_method": spec.deidentification.method if spec.deidentification else None,
            "deid_verified": spec.deidentification.verified if spec.deidentification else None,
            "bias_status": spec.bias_examination.status if spec.bias_examination else None,
            "bias_date": spec.bias_examination.date if spec.bias_examination else None,
            "bias_documentation": spec.bias_examination.documentation if spec.bias_examination else None,
            "tags": list(spec.tags),
            "expectations": self.expectations[declared.key],
            "expectations_file": self.suite_files[declared.key],
            "catalog_file": str(declared.doc.path.resolve()),
            "catalog_line": declared.doc.line_of(declared.loc),
        }

    @staticmethod
    def _model_fields(declared: _Declared) -> dict[str, Any]:
        spec: ModelSpec = declared.spec
        return {
            "version": spec.version,
            "risk_tier": spec.risk_tier,
            "deployed": spec.deployed,
            "purpose": spec.purpose,
            "owner": spec.owner,
            "description": spec.description,
            "tags": list(spec.tags),
            "catalog_file": str(declared.doc.path.resolve()),
            "catalog_line": declared.doc.line_of(declared.loc),
        }


CATALOG_SUFFIXES = (".yaml", ".yml", ".json")


def _lookalike(kind: str, key: Key, other: Key, where: str) -> str:
    """The error for a name that can be taken for another: which one, and the character at fault."""
    shown = other[1] if other[0] == key[0] else f"{other[0]}:{other[1]}"
    difference = how_they_differ(key[1], other[1]) if other[0] == key[0] else how_they_differ(":".join(key), ":".join(other))
    return (f"'{key[1]}' looks like the {kind} '{shown}'{where}: {difference}; "
            "use that name, or one nobody can mistake for it")


def iter_catalog_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the catalog files they hold (*.yaml, *.yml, *.json), sorted.

    A folder holding none is an error, not an empty load: a mistyped path in a CI job or a
    pre-commit hook would otherwise pass green having checked nothing.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in CATALOG_SUFFIXES and p.is_file())
            if not found:
                raise ConfigurationError(f"no catalog files (*.yaml, *.yml, *.json) in the folder {path}")
            files += found
        else:
            files.append(path)
    if not files:
        raise ConfigurationError("nothing to load: no catalog files were given")
    return files
