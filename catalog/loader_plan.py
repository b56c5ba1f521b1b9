"""A load's plan: what the files declare, resolved and checked before anything is written.

Built in three steps so that no other writer waits on the slow parts. `Plan(documents)` reads what
the files say (duplicates, the policy file, locations, suite files) without the store.
`judge_suites` asks Great Expectations about every changed suite outside the write lock: GX takes
seconds to import and to build a suite. `bind(writer)`, inside the write transaction, checks the
plan against what the store holds then (references, lookalike names, derivation and base-model
cycles, and any suite another writer changed meanwhile), so nothing can commit between the check
and the write.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import expectations as suites  # `suites.validate` is looked up per call, so it can be replaced
from catalog import loader_cycles
from catalog import loader_fingerprints as fingerprints
from catalog.document import Document, Loc, format_loc
from catalog.errors import Problem
from catalog.expectations import ExpectationProblem, normalise, read_suite_file
from catalog.ids import DEFAULT_VERSION, Key, ModelKey, NodeId, version_key
from catalog.locations import parse_location
from catalog.names import how_they_differ, key_skeleton
from catalog.spec import CatalogFileSpec, DatasetSpec, DerivationSpec, FeedSpec, IncidentSpec, ModelSpec
from catalog.store import Store, Writer


@dataclass(frozen=True)
class DeclaredFlow:
    """A column flow a `derived_from` entry declares into its dataset (`output_column` '' for the whole)."""

    input: Key
    input_column: str
    output_column: str
    kind: str  # DIRECT | INDIRECT


def declared_flows(ref: Key, entry: DerivationSpec) -> list[DeclaredFlow]:
    flows = [DeclaredFlow(ref, source, output, "DIRECT") for output, sources in entry.columns.items()
             for source in sources]
    return flows + [DeclaredFlow(ref, source, "", "INDIRECT") for source in entry.indirect]


@dataclass
class Declared:
    """One dataset or model as declared in one file, with where it was declared."""

    key: Any  # (namespace, name) of a dataset, (namespace, name, version) of a model version
    spec: DatasetSpec | ModelSpec
    doc: Document
    loc: Loc
    namespace: str  # the file's default namespace, used to resolve the names it refers to

    def problem(self, message: str, *extra: str | int) -> Problem:
        loc = self.loc + tuple(extra)
        return Problem(str(self.doc.path), format_loc(loc), message, self.doc.line_of(loc))


class Plan:
    """Everything a load will write, resolved and checked before the first write."""

    def __init__(self, documents: list[tuple[Document, CatalogFileSpec]]) -> None:
        """What the files say, read and normalised (suite files included) without touching the store."""
        self.documents = documents
        self._file_specs = {id(doc): spec for doc, spec in documents}
        self._resolved: dict[int, str] = {}
        self.problems: list[Problem] = []
        self.datasets: dict[Key, Declared] = {}
        self.models: dict[ModelKey, Declared] = {}  # one entry per model version
        self.locations: dict[Key, str | None] = {}
        self.expectations: dict[Key, list[dict[str, Any]]] = {}
        self.expectation_origins: dict[Key, list[tuple[str, int]]] = {}
        self.suite_files: dict[Key, str | None] = {}
        self.suite_verdicts: dict[str, list[tuple[int, ExpectationProblem]]] = {}  # suite hash -> GX's problems
        # per file, what else it made the load read (catalog/loader_fingerprints.py): "suite:PATH" -> state
        self.inputs: dict[Path, dict[str, str]] = {}
        self._suite_states: dict[str, str] = {}  # one digest per suite file, however many datasets name it
        self._declare()
        self.policy = self._policy()
        for key, declared in self.datasets.items():
            self._normalise_expectations(key, declared)
            self._parse_location(key, declared)
        self._prepared = list(self.problems)

    def file_spec(self, doc: Document) -> CatalogFileSpec:
        """The whole-file spec `doc` was read as (its defaults, its namespace)."""
        return self._file_specs[id(doc)]

    def resolved(self, doc: Document) -> str:
        """`doc`'s resolved path, once per file rather than once per entry (a syscall per component)."""
        found = self._resolved.get(id(doc))
        if found is None:
            found = self._resolved[id(doc)] = str(doc.path.resolve())
        return found

    def judge_suites(self, store: Store) -> None:
        """GX's verdict on every suite that differs from the stored one, read outside the write lock."""
        with store.read() as session:
            stored = Writer(session).stored_expectations([key for key in self.datasets if self.expectations[key]])
        changed = [e for key, e in self.expectations.items() if e and stored.get(key) != e]
        for expectations in changed:
            self.suite_verdicts.setdefault(suites.suite_hash(expectations), suites.validate(expectations))

    def bind(self, writer: Writer) -> list[Problem]:
        """Check the plan against the store, inside the write transaction; every problem found."""
        self.writer = writer
        self.problems = list(self._prepared)  # a retried transaction starts again from the preparation's
        self.stored_datasets = set(writer.dataset_keys())
        self.stored_models = set(writer.model_keys())
        self.known_datasets = self.stored_datasets | set(self.datasets)
        self.known_models = self.stored_models | set(self.models)
        # indexes for references, built once: a scan of 100,000 keys per reference was quadratic
        self.dataset_names = _by_name(self.known_datasets)
        self.model_families = {key[:2] for key in self.known_models}
        self.family_names = _by_name(self.model_families)
        self.family_versions: dict[Key, list[str]] = {}
        for key in self.known_models:
            self.family_versions.setdefault(key[:2], []).append(key[2])
        self.derived_from: dict[Key, list[Key]] = {}
        self.column_flows: dict[Key, list[DeclaredFlow]] = {}  # per output: its catalog-declared column flows
        self.feeds: dict[ModelKey, list[tuple[Key, FeedSpec]]] = {}
        self.base_models: dict[ModelKey, ModelKey | None] = {}
        self.incidents: list[tuple[Key, IncidentSpec]] = []
        self.incident_docs: list[Document] = []  # the file of each of `incidents`
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
                    key: Any = (item.namespace or spec.catalog, item.name)
                    if kind == "models":
                        key = (*key, item.version or DEFAULT_VERSION)
                    declared = Declared(key, item, doc, (kind, index), spec.catalog)
                    first = registry.get(declared.key)
                    if first is not None:
                        where = f"{first.doc.path}:{first.doc.line_of(first.loc)}"
                        what = f"'{item.name}'" if kind == "datasets" else f"'{item.name}' version {key[2]}"
                        self.problems.append(
                            declared.problem(f"duplicate {kind[:-1]} {what} (first declared at {where})", "name")
                        )
                        continue
                    registry[declared.key] = declared

    def _refuse_lookalikes(self) -> None:
        """A name that reads as another dataset's or model's is refused: in these files, or in the store."""
        for kind, registry, stored in (("dataset", self.datasets, self.stored_datasets),
                                       ("model", self.models, self.stored_models)):
            first_by_skeleton: dict[str, Declared] = {}
            refused: set[Key] = set()
            for key, declared in registry.items():
                first = first_by_skeleton.setdefault(key_skeleton(key[0], key[1]), declared)
                if first is not declared and first.key[:2] != key[:2]:  # another version of a model is no lookalike
                    where = f"{first.doc.path}:{first.doc.line_of(first.loc)}"
                    self.problems.append(declared.problem(_lookalike(kind, key, first.key, f" (declared at {where})"), "name"))
                    refused.add(key)
            new = [key for key in registry if key not in stored and key not in refused]
            for key, existing in self.writer.lookalikes(kind, new).items():
                self.problems.append(registry[key].problem(_lookalike(kind, key, existing, " in the store"), "name"))

    # --- pass 2: references ---------------------------------------------------------------------
    def _resolve(self) -> None:
        for key, declared in self.datasets.items():
            dataset: DatasetSpec = declared.spec
            self.derived_from[key] = []
            self.column_flows[key] = []
            for i, entry in enumerate(dataset.derived_from):
                mapped = not isinstance(entry, str)
                ref = self._dataset_ref(entry.dataset if mapped else entry, declared, "derived_from", i,
                                        *(("dataset",) if mapped else ()))
                if ref is None:
                    continue
                self.derived_from[key].append(ref)
                if mapped:
                    self.column_flows[key].extend(declared_flows(ref, entry))
            if key in self.derived_from[key]:
                self.problems.append(declared.problem("a dataset cannot be derived from itself", "derived_from"))
        for key, declared in self.models.items():
            model: ModelSpec = declared.spec
            feeds: list[tuple[Key, FeedSpec]] = []
            for i, feed in enumerate(model.trained_on):
                ref = self._dataset_ref(feed.dataset, declared, "trained_on", i, "dataset")
                if ref is not None:
                    feeds.append((ref, feed))
            self.feeds[key] = feeds
            self.base_models[key] = None
            if model.base_model:
                base = self._model_ref(model.base_model, declared.namespace)
                if isinstance(base, str):
                    self.problems.append(declared.problem(base, "base_model"))
                elif base == key:
                    self.problems.append(declared.problem("a model cannot be its own base model", "base_model"))
                else:
                    self.base_models[key] = base
        for doc, spec in self.documents:
            for index, incident in enumerate(spec.incidents):
                ref = self._ref(incident.dataset, spec.catalog, self.known_datasets, "dataset", self.dataset_names)
                if isinstance(ref, str):
                    loc = ("incidents", index, "dataset")
                    self.problems.append(Problem(str(doc.path), format_loc(loc), ref, doc.line_of(loc)))
                else:
                    self.incidents.append((ref, incident))
                    self.incident_docs.append(doc)

    def _policy(self) -> str | None:
        """The policy file named by the catalog files (resolved), if any; they must agree."""
        named: dict[str, Document] = {}
        for doc, spec in self.documents:
            if spec.policy:
                path = Path(spec.policy)
                path = path if path.is_absolute() else doc.path.resolve().parent / path
                self.inputs.setdefault(doc.path, {})[f"policy:{path}"] = fingerprints.policy_state(path)
                if not path.is_file():
                    self.problems.append(Problem(str(doc.path), "policy", f"policy file {path} not found", doc.line_of(("policy",))))
                named.setdefault(str(path.resolve()), doc)
        if len(named) > 1:
            doc = list(named.values())[1]
            self.problems.append(Problem(str(doc.path), "policy", "the files of one load name different policies: "
                                         + ", ".join(named), doc.line_of(("policy",))))
        return next(iter(named), None)

    def _parse_location(self, key: Key, declared: Declared) -> None:
        self.locations[key] = None
        spec: DatasetSpec = declared.spec
        if spec.location:
            try:
                self.locations[key] = parse_location(spec.location, Path(self.resolved(declared.doc)).parent).value
            except ValueError as exc:
                self.problems.append(declared.problem(str(exc), "location"))

    def _normalise_expectations(self, key: Key, declared: Declared) -> None:
        """Inline entries, then those of `expectations_file`, in GX's suite shape."""
        spec: DatasetSpec = declared.spec
        entries: list[tuple[str, int, Any]] = [("expectations", i, e) for i, e in enumerate(spec.expectations)]
        self.suite_files[key] = None
        if spec.expectations_file:
            path = Path(spec.expectations_file)
            path = path if path.is_absolute() else Path(self.resolved(declared.doc)).parent / path
            self.suite_files[key] = str(path.resolve())
            # the digest before the read: a file that changes in between is taken as changed next time
            name = f"suite:{path}"
            if name not in self._suite_states:
                self._suite_states[name] = fingerprints.suite_digest(path)
            self.inputs.setdefault(declared.doc.path, {})[name] = self._suite_states[name]
            try:
                entries += [("expectations_file", i, e) for i, e in enumerate(read_suite_file(path))]
            except ExpectationProblem as problem:
                self.problems.append(declared.problem(str(problem), "expectations_file"))
        normalised: list[dict[str, Any]] = []
        origins: list[tuple[str, int]] = []
        for field_name, index, entry in entries:
            try:
                normalised.append(normalise(entry))
                origins.append((field_name, index))
            except ExpectationProblem as problem:
                self.problems.append(self._expectation_problem(declared, field_name, index, problem))
        self.expectations[key] = normalised
        self.expectation_origins[key] = origins

    @staticmethod
    def _expectation_problem(declared: Declared, field_name: str, index: int, problem: ExpectationProblem) -> Problem:
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
            digest = suites.suite_hash(expectations)
            if digest not in self.suite_verdicts:
                self.suite_verdicts[digest] = suites.validate(expectations)
            for position, problem in self.suite_verdicts[digest]:
                field_name, index = self.expectation_origins[key][position]
                self.problems.append(self._expectation_problem(self.datasets[key], field_name, index, problem))

    def _dataset_ref(self, name: str, declared: Declared, *loc: str | int) -> Key | None:
        ref = self._ref(name, declared.namespace, self.known_datasets, "dataset", self.dataset_names)
        if isinstance(ref, str):
            self.problems.append(declared.problem(ref, *loc))
            return None
        return ref

    def _model_ref(self, reference: str, namespace: str) -> ModelKey | str:
        """A model version named `NAME[@VERSION]` (or by id); a bare name means its latest version."""
        head, at, version = reference.rpartition("@")
        name = head if at else reference
        family = self._ref(name, namespace, self.model_families, "model", self.family_names)
        if isinstance(family, str):
            return family
        versions = sorted(self.family_versions[family], key=version_key)
        if not at:
            return (*family, versions[-1])
        if version not in versions:
            return f"model '{family[1]}' has no version '{version}' (it has {', '.join(versions)})"
        return (*family, version)

    @staticmethod
    def _ref(name: str, namespace: str, known: set[Key], kind: str, by_name: dict[str, list[Key]]) -> Key | str:
        """Resolve a reference to a key, or return the problem as text.

        Accepted: `kind:namespace:name` (namespaces may hold ':'), a name in the file's own
        namespace, or a name that exists in exactly one namespace. `by_name` indexes `known` by name.
        """
        prefix = f"{kind}:"
        if name.startswith(prefix):
            try:  # the id form (`catalog/ids.py`: a ':' in the name written %3A), as the API returns it
                encoded = NodeId.parse(name, kind).key  # type: ignore[arg-type]
            except ValueError:
                encoded = None
            if encoded in known:
                return encoded
            rest = name[len(prefix):]
            for cut in range(len(rest)):  # a file may also write a name's ':' as it is
                if rest[cut] == ":" and (rest[:cut], rest[cut + 1:]) in known:
                    return (rest[:cut], rest[cut + 1:])
        elif (namespace, name) in known:
            return (namespace, name)
        else:
            matches = sorted(by_name.get(name, ()))
            if len(matches) == 1:
                return matches[0]
            if matches:
                options = ", ".join(f"{kind}:{ns}:{n}" for ns, n in matches)
                return f"'{name}' is ambiguous; write one of: {options}"
        close = difflib.get_close_matches(name, sorted({k[1] for k in known}), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown {kind} '{name}': expected a {kind} declared in a catalog file or already in the store{hint}"

    # --- pass 3: cycles -------------------------------------------------------------------------
    def _check_cycles(self) -> None:
        declared = {(inp, out) for out, inputs in self.derived_from.items() for inp in inputs}
        for key, message, field in loader_cycles.problems(self.writer, set(self.datasets), declared,
                                                          dict(self.base_models)):
            owner = self.datasets[key] if field == "derived_from" else self.models[key]
            self.problems.append(owner.problem(message, field))

def _by_name(keys: set[Key]) -> dict[str, list[Key]]:
    index: dict[str, list[Key]] = {}
    for key in keys:
        index.setdefault(key[1], []).append(key)
    return index


def _lookalike(kind: str, key: Key, other: Key, where: str) -> str:
    """The error for a name that can be taken for another: which one, and the character at fault."""
    shown = other[1] if other[0] == key[0] else f"{other[0]}:{other[1]}"
    difference = how_they_differ(key[1], other[1]) if other[0] == key[0] else how_they_differ(":".join(key), ":".join(other))
    return (f"'{key[1]}' looks like the {kind} '{shown}'{where}: {difference}; "
            "use that name, or one nobody can mistake for it")
