"""Great Expectations, run honestly and as fast as it goes.

One ephemeral GX context per check run (GX costs seconds to import and start), one data source per
dataset, deleted as soon as its verdict is in: a long-lived context otherwise keeps every frame it
was given alive. Validations run one at a time; GX gives wrong answers when one validation is
shared across threads.

Speed, measured and kept honest:
- one pass computes every verdict with its counts (GX's BASIC format: the unexpected count and
  percentage come out of the same aggregate that decides the verdict). On a frame that pass also
  takes the sample of unexpected values: the mask is already computed, slicing it costs nothing.
  On a table a sample is a query of its own, so the pass asks for none (`LIMIT 0`), and for the
  expectations that failed GX then computes only its `unexpected_values` metric (a `LIMIT 10`
  query): asking GX to validate them again would rerun the whole aggregate for counts we already
  have;
- GX hashes every pandas frame under 1 GB to stamp its batch (0.6–0.9 s on 1M rows); that hash
  is metadata we never read (our own fingerprint is the file's SHA-256), so it is switched off;
- GX's pandas mean, sum and standard deviation first look at every value in Python for a
  `Decimal` (0.4 s on 1M rows); a numeric column cannot hold one, so that look is skipped for
  columns whose dtype is not `object` (object columns are still looked at, value by value);
- SQL tables are validated by GX's SQL engine: the expectations become queries and run inside
  the database; no row is pulled into Python.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from catalog.expectations import ExpectationProblem, build, disable_gx_analytics, row_filter
from catalog.fingerprint import Unreadable, require_sqlite_file, split_table
from catalog.locations import Location
from catalog.secrets import mask_secrets

SAMPLE_SIZE = 10
# Observed values that describe the data's shape, never its content: safe to keep for personal data.
SHAPE_ONLY = (
    "expect_table_row_count", "expect_table_column_count", "expect_table_columns",
    "expect_column_to_exist", "expect_column_proportion_of_unique_values", "expect_column_unique_value_count",
    "expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list",
)


@dataclass
class Outcome:
    """The verdict on one expectation."""

    position: int
    success: bool | None
    errored: bool = False
    error: str | None = None
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: list[Any] | None = None


@dataclass
class Validator:
    """A GX context for the life of one `headwater check`."""

    context: Any = None
    _names: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        disable_gx_analytics()
        import great_expectations as gx
        import great_expectations.execution_engine.pandas_execution_engine as pandas_engine

        pandas_engine.HASH_THRESHOLD = 0  # see the module docstring: GX's own frame hash is unused
        _skip_decimal_scan_of_typed_arrays()
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}

    def validate_frame(self, frame: Any, expectations: list[dict[str, Any]], *, samples: bool) -> list[Outcome]:
        """Expectations with a row condition run on the rows it selects, chosen here with a boolean
        mask (catalog/row_filters.py): GX would hand the condition to `DataFrame.query`, which runs code."""
        from catalog.row_filter_apply import mask
        from catalog.row_filters import RowFilterError, describe

        groups: dict[str | None, tuple[Any, list[int]]] = {}
        outcomes: dict[int, Outcome] = {}
        for position, expectation in enumerate(expectations):
            try:
                node = row_filter(expectation)
            except ExpectationProblem as problem:
                outcomes[position] = Outcome(position, None, True, str(problem))
                continue
            key = describe(node) if node is not None else None
            groups.setdefault(key, (node, []))[1].append(position)
        for node, positions in groups.values():
            try:
                rows = frame if node is None else frame[mask(node, frame)]
            except RowFilterError as exc:
                outcomes.update({p: Outcome(p, None, True, f"row_condition: {exc}") for p in positions})
                continue
            for outcome in self._validate_rows(rows, [expectations[p] for p in positions], samples=samples):
                outcome.position = positions[outcome.position]
                outcomes[outcome.position] = outcome
        return [outcomes[position] for position in sorted(outcomes)]

    def _validate_rows(self, frame: Any, expectations: list[dict[str, Any]], *, samples: bool) -> list[Outcome]:
        name = f"frame_{next(self._names)}"
        source = self.context.data_sources.add_pandas(name)
        try:
            batch = source.add_dataframe_asset("data").add_batch_definition_whole_dataframe("all").get_batch(
                batch_parameters={"dataframe": frame}
            )
            return self._validate(batch, expectations, samples=samples, sql_rows=False)
        finally:
            self.context.data_sources.delete(name)

    def validate_table(self, url: str, schema: str | None, table: str, expectations: list[dict[str, Any]],
                       *, samples: bool) -> list[Outcome]:
        import warnings

        name = f"table_{next(self._names)}"
        sources = self.context.data_sources
        dialect = url.split(":", 1)[0].split("+", 1)[0]
        add = {"postgresql": sources.add_postgres, "sqlite": sources.add_sqlite}.get(dialect, sources.add_sql)
        source = add(name, connection_string=url)
        try:
            with warnings.catch_warnings():
                # GX 1.x deprecates schema_name in favour of per-connection settings, which differ by
                # database; the argument still works and keeps `schema.table` locations portable.
                warnings.simplefilter("ignore", DeprecationWarning)
                asset = source.add_table_asset("data", table_name=table, schema_name=schema)
            batch = asset.add_batch_definition_whole_table("all").get_batch()
            return self._validate(batch, expectations, samples=samples, sql_rows=True)
        finally:
            _close_connections(source)
            self.context.data_sources.delete(name)

    def _suite(self, expectations: list[tuple[int, dict[str, Any]]], *, sql_rows: bool) -> Any:
        suite = self._gx.ExpectationSuite(name=f"suite_{next(self._names)}")
        for position, expectation in expectations:
            built = build(expectation, sql_rows=sql_rows)
            built.meta = {"headwater_position": position}
            suite.add_expectation(built)
        return suite

    def _validate(self, batch: Any, expectations: list[dict[str, Any]], *, samples: bool, sql_rows: bool) -> list[Outcome]:
        """`sql_rows`: row conditions go to GX's SQL engine as structured, bound conditions; on frames
        the caller has already selected the rows and GX sees none."""
        outcomes: dict[int, Outcome] = {}
        indexed = []
        for position, expectation in enumerate(expectations):
            try:
                build(expectation, sql_rows=sql_rows)
                indexed.append((position, expectation))
            except ExpectationProblem as problem:
                outcomes[position] = Outcome(position, None, True, str(problem))
        if not indexed:
            return [outcomes[position] for position in sorted(outcomes)]
        in_pass = SAMPLE_SIZE if samples and not sql_rows else 0
        verdicts = batch.validate(self._suite(indexed, sql_rows=sql_rows),
                                  result_format={"result_format": "BASIC", "partial_unexpected_count": in_pass})
        failed: list[int] = []
        for result in verdicts.results:
            position = result.expectation_config.meta["headwater_position"]
            error = _exception_of(result)
            outcome = outcomes[position] = Outcome(position, None if error else bool(result.success), bool(error), error)
            if error or result.success:
                continue  # details are kept for failures only, as they always were
            failed.append(position)
            detail = result.result or {}
            kind = expectations[position]["type"]
            outcome.unexpected_count = plain(detail.get("unexpected_count"))
            outcome.unexpected_percent = plain(detail.get("unexpected_percent"))
            observed = detail.get("observed_value")
            outcome.observed_value = plain(observed) if samples or kind.startswith(SHAPE_ONLY) else None
            if samples:
                outcome.sample = plain(list(detail.get("partial_unexpected_list") or [])[:SAMPLE_SIZE])
        if samples and sql_rows and failed:
            wanted = [p for p in failed if outcomes[p].unexpected_count]
            for position, sample in self._table_samples(batch, {p: expectations[p] for p in wanted}).items():
                outcomes[position].sample = plain(list(sample)[:SAMPLE_SIZE])
        return [outcomes[position] for position in sorted(outcomes)]

    def _table_samples(self, batch: Any, expectations: dict[int, dict[str, Any]]) -> dict[int, list[Any]]:
        """Up to SAMPLE_SIZE unexpected values per failed map expectation, from GX's own
        `unexpected_values` metric (what its SUMMARY result would list) and nothing else. An
        expectation without that metric (an aggregate, such as a mean) has no sample to give; a
        metric GX cannot compute leaves that sample empty, never the verdict changed."""
        if not expectations:
            return {}
        result_format = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}
        runtime = {"result_format": result_format}
        gx_validator = self.context.get_validator(batch=batch)
        wanted: dict[int, Any] = {}
        for position, expectation in expectations.items():
            built = build(expectation, sql_rows=True)
            dependencies = built.get_validation_dependencies(execution_engine=gx_validator.execution_engine,
                                                             runtime_configuration=runtime)
            names = [n for n in dependencies.get_metric_names() if n.endswith(".unexpected_values")]
            if len(names) == 1:
                wanted[position] = dependencies.get_metric_configuration(names[0])
        if not wanted:
            return {}
        try:
            resolved, _aborted = gx_validator.compute_metrics(list(wanted.values()), runtime)
        except Exception:  # noqa: BLE001 - GX raises its own hierarchy; a sample is never worth a verdict
            return {}
        return {position: resolved[metric.id] for position, metric in wanted.items() if metric.id in resolved}


def _close_connections(source: Any) -> None:
    """GX keeps its pooled connections open once a validation is done; they are closed here, so a
    check leaves no session behind on the server: PostgreSQL's statistics, the cheap change signal
    of catalog/fingerprint.py, are only trusted while no other session may hold unflushed ones."""
    for close in (lambda: source.get_execution_engine().close(), lambda: source.get_engine().dispose()):
        try:
            close()
        except Exception:  # noqa: BLE001 - closing is best effort: the verdict is already in
            pass


def _skip_decimal_scan_of_typed_arrays() -> None:
    """See the module docstring: the same answer for every array, without a Python loop over
    arrays whose dtype cannot hold a `Decimal`. Installed once per process."""
    import great_expectations.util as gx_util

    original = gx_util.does_ndarray_contain_decimal_dtype
    if getattr(original, "headwater_typed_shortcut", False):
        return

    def contains_decimal(data: Any) -> bool:
        dtype = getattr(data, "dtype", None)
        if dtype is not None and dtype.kind != "O":
            return False
        return original(data)

    contains_decimal.headwater_typed_shortcut = True  # type: ignore[attr-defined]
    gx_util.does_ndarray_contain_decimal_dtype = contains_decimal


def validate_location(validator: Validator, location: Location, suite: list[dict[str, Any]], *,
                      samples: bool) -> tuple[list[dict[str, Any]], str | None]:
    """Per-expectation results, or ([], why) when the data could not be judged at all."""
    try:
        if location.kind == "file":
            from checks.frames import needed_columns, read_frame

            frame = read_frame(location.value, location.format or "", needed_columns(suite))
            outcomes = validator.validate_frame(frame, suite, samples=samples)
            del frame
        else:
            url = location.value.partition("#")[0]
            require_sqlite_file(url)
            schema, table = split_table(location.table or "")
            outcomes = validator.validate_table(url, schema, table, suite, samples=samples)
    except Unreadable as exc:
        return [], mask_secrets(str(exc))
    except Exception as exc:  # GX raises its own hierarchy for unreachable sources and bad batches
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [], mask_secrets(message)
    return [
        {
            "position": o.position, "expectation": suite[o.position]["type"], "kwargs": suite[o.position]["kwargs"],
            "severity": suite[o.position]["severity"], "success": o.success, "errored": o.errored,
            "error": mask_secrets(o.error) if o.error else o.error,
            "observed_value": o.observed_value, "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent, "sample": o.sample,
        }
        for o in outcomes
    ], None


def _exception_of(result: Any) -> str | None:
    """GX reports an expectation's exception either flat or per metric; return its message."""
    info = result.exception_info or {}
    if "raised_exception" in info:
        return (info.get("exception_message") or "error") if info.get("raised_exception") else None
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message") or "error"
    return None


def plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN and infinities to None, anything odd to text."""
    import math

    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return plain(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return str(value)
