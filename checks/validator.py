"""Great Expectations, run honestly and as fast as it goes.

One ephemeral GX context per check run (GX costs seconds to import and start), one data source per
dataset, deleted as soon as its verdict is in: a long-lived context otherwise keeps every frame it
was given alive. Validations run one at a time; GX gives wrong answers when one validation is
shared across threads.

Speed, measured and kept honest:
- a first pass asks only for verdicts (BOOLEAN_ONLY); details (observed value, unexpected counts,
  a sample) are computed in a second pass for the expectations that failed, which on healthy data
  is none of them;
- GX hashes every pandas frame under 1 GB to stamp its batch (0.6–0.9 s on 1M rows); that hash
  is metadata we never read (our own fingerprint is the file's SHA-256), so it is switched off;
- SQL tables are validated by GX's SQL engine: the expectations become queries and run inside
  the database; no row is pulled into Python.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from catalog.expectations import ExpectationProblem, build, disable_gx_analytics, row_filter

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
        verdicts = batch.validate(self._suite(indexed, sql_rows=sql_rows), result_format="BOOLEAN_ONLY")
        failed: list[int] = []
        for result in verdicts.results:
            position = result.expectation_config.meta["headwater_position"]
            error = _exception_of(result)
            outcomes[position] = Outcome(position, None if error else bool(result.success), bool(error), error)
            if not error and not result.success:
                failed.append(position)
        if failed:
            result_format = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE if samples else 0}
            details = batch.validate(self._suite([(p, expectations[p]) for p in failed], sql_rows=sql_rows),
                                     result_format=result_format)
            for result in details.results:
                position = result.expectation_config.meta["headwater_position"]
                detail = result.result or {}
                outcome = outcomes[position]
                kind = expectations[position]["type"]
                outcome.unexpected_count = plain(detail.get("unexpected_count"))
                outcome.unexpected_percent = plain(detail.get("unexpected_percent"))
                observed = detail.get("observed_value")
                outcome.observed_value = plain(observed) if samples or kind.startswith(SHAPE_ONLY) else None
                if samples:
                    outcome.sample = plain(list(detail.get("partial_unexpected_list") or [])[:SAMPLE_SIZE])
        return [outcomes[position] for position in sorted(outcomes)]


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
