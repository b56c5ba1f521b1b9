"""Benchmark: `headwater check` against the same eight checks written by hand.

    python -m benchmarks.checks [--rows N] [--repeat R] [--out DIR] [--keep]

One process run measures everything, each figure beside its baseline from the same run:

- Data: N rows x 6 columns (id, age, income, region, signup, flag) from a seeded numpy generator,
  with planted violations (0.1% of ages out of range, 0.01% unknown regions, 0.005% dates in the
  wrong format; 0.05% of incomes are null, which is not a violation). The same rows are written as
  CSV, Parquet, a SQLite table and a PostgreSQL table (a throwaway server from tests/postgres.py).
- A catalog file declares one dataset per format with the same 8 GX expectations; it is loaded
  into a fresh SQLite store.
- Cold: `run_checks(store, [name], force=True)`: fingerprint + read + GX (both passes) + recording
  the run. GX's import is excluded by warming up on a 1,000-row copy of each format first; the
  per-run context start (every run_checks builds its own Validator) stays in, and is also timed
  on its own. Baseline: the same checks in pandas (read + vectorised checks) for files, one
  aggregate SQL query (+ one sample query per failed check) for tables.
- Cached: `run_checks(store, [name], force=False)` right after a cold run reuses the verdict by
  fingerprint; files and tables carry the cold run's fingerprint over while their change signal
  (catalog/fingerprint.py `file_signal`, one stat(); `table_signal`) has not moved; the benchmark
  checks that it did not (a cached run that hashed or scanned is said in the notes). Compared with
  the cold run. The catalog's store is its own
  SQLite file (`store.db`): were it the data's file, every recorded run would move the data file's
  signal and each cached run would rescan (correctly: the file did change).
- Breakdown (no target): fingerprint alone, the change signal alone, file read alone, GX on an in-memory frame against
  pandas on the same frame.
- Peak memory: every phase runs once more in its own fresh subprocess, which imports, warms up,
  resets its resident high-water mark and reads it (VmHWM) after the phase; see `memory()` for why
  not ru_maxrss. The PostgreSQL server's memory is not in it.
- GX import + first context start, once, in a fresh interpreter.

Every timing is the median of --repeat runs (all samples are in the JSON), each after a gc.collect();
everything imported by the warm-up is gc.freeze()-d first, which keeps those collections short and
left the figures unchanged within noise. Files are read from the page cache (they were just
written) by Headwater and by the baselines alike.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import memory, reset_peak
from benchmarks.machine import describe_machine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` (for tests.postgres) is not an installed package

FORMATS = ("csv", "parquet", "sqlite", "postgres")
REGIONS = ["north", "south", "east", "west", "central", "coast", "highlands", "islands"]
DATE_REGEX = r"^\d{4}-\d{2}-\d{2}$"
DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"  # SQLite has no regex; same language for ASCII
AGE_MIN, AGE_MAX = 18, 120
INCOME_MIN, INCOME_MAX = 0, 1_000_000
MEAN_MIN, MEAN_MAX = 30_000, 60_000
TABLE = "people"
SAMPLE = 10  # checks.validator.SAMPLE_SIZE
TINY_ROWS = 1_000
COLD_TARGET = 2.0  # headwater / baseline, at most
CACHED_TARGET = 10.0  # cold / cached, at least


# --- data ---------------------------------------------------------------------------------------

def make_frame(rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def some(fraction: float) -> Any:
        return rng.choice(rows, max(1, int(rows * fraction)), replace=False)

    ids = rng.permutation(rows).astype(np.int64) + 1
    age = rng.integers(18, 91, rows)
    bad_ages = some(0.001)
    age[bad_ages] = rng.choice([5, 12, 17, 121, 150], bad_ages.size)
    income = np.minimum(rng.lognormal(10.5, 0.6, rows).round(2), 999_999.0)
    income[some(0.0005)] = np.nan
    region = np.array(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), rows)]
    region[some(0.0001)] = "unknown"
    signup = (np.datetime64("2015-01-01") + rng.integers(0, 3650, rows).astype("timedelta64[D]")).astype(str)
    signup = signup.astype(object)
    wrong = some(0.00005)
    signup[wrong] = [f"{s[8:10]}/{s[5:7]}/{s[:4]}" for s in signup[wrong]]
    flag = rng.random(rows) < 0.3
    return pd.DataFrame({"id": ids, "age": age, "income": income, "region": region, "signup": signup, "flag": flag})


def write_sqlite(frame: Any, path: Path) -> None:
    income = frame["income"].astype(object).where(frame["income"].notna(), None)
    connection = sqlite3.connect(path)
    try:
        connection.execute(
            f"CREATE TABLE {TABLE} (id INTEGER, age INTEGER, income REAL, region TEXT, signup TEXT, flag BOOLEAN)"
        )
        connection.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)", zip(
            frame["id"].tolist(), frame["age"].tolist(), income.tolist(), frame["region"].tolist(),
            frame["signup"].tolist(), frame["flag"].astype(int).tolist(),
        ))
        connection.commit()
    finally:
        connection.close()


def write_postgres(csv_path: Path, url: str, table: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:
            cursor.execute(
                f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id BIGINT, age INTEGER, "
                "income DOUBLE PRECISION, region TEXT, signup TEXT, flag BOOLEAN)"
            )
            with cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy, csv_path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    copy.write(block)
            cursor.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def write_formats(frame: Any, folder: Path, stem: str, pg_url: str) -> dict[str, str]:
    """Writes the frame four ways; returns each format's catalog location."""
    csv_path, parquet_path, db_path = folder / f"{stem}.csv", folder / f"{stem}.parquet", folder / f"{stem}.db"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False)
    write_sqlite(frame, db_path)
    write_postgres(csv_path, pg_url, f"{TABLE}_{stem}")
    return {
        "csv": str(csv_path), "parquet": str(parquet_path), "sqlite": f"sqlite:///{db_path}#{TABLE}",
        "postgres": f"{pg_url}#{TABLE}_{stem}",
    }


def expectations(rows: int) -> list[dict[str, Any]]:
    return [
        {"expect_column_values_to_not_be_null": {"column": "id"}, "severity": "critical"},
        {"expect_column_values_to_be_unique": {"column": "id"}, "severity": "critical"},
        {"expect_column_values_to_be_between": {"column": "age", "min_value": AGE_MIN, "max_value": AGE_MAX},
         "severity": "critical"},
        {"expect_column_values_to_be_between": {"column": "income", "min_value": INCOME_MIN, "max_value": INCOME_MAX}},
        {"expect_column_values_to_be_in_set": {"column": "region", "value_set": REGIONS}},
        {"expect_column_values_to_match_regex": {"column": "signup", "regex": DATE_REGEX}},
        {"expect_table_row_count_to_be_between": {"min_value": rows, "max_value": rows}},
        {"expect_column_mean_to_be_between": {"column": "income", "min_value": MEAN_MIN, "max_value": MEAN_MAX}},
    ]


def write_catalog(folder: Path, locations: dict[str, dict[str, str]], rows: dict[str, int]) -> Path:
    import yaml

    datasets = [
        {
            "name": f"{stem}_{fmt}", "description": f"{rows[stem]:,} synthetic rows as {fmt}", "location": location,
            "origin": "synthetic", "personal_data": False, "expectations": expectations(rows[stem]),
        }
        for stem, by_format in locations.items() for fmt, location in by_format.items()
    ]
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump({"catalog": "bench", "datasets": datasets}, sort_keys=False), encoding="utf-8")
    return path


# --- baselines: the same 8 checks, by hand --------------------------------------------------------

def read_file(path: str, fmt: str) -> Any:
    import pandas as pd

    return pd.read_csv(path, low_memory=False) if fmt == "csv" else pd.read_parquet(path)


def pandas_checks(frame: Any, rows: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def values_check(position: int, values: Any, bad: Any) -> None:
        count = int(bad.sum())
        out.append({"position": position, "success": count == 0, "unexpected_count": count,
                    "unexpected_percent": 100.0 * count / len(values) if len(values) else 0.0,
                    "sample": values[bad].head(SAMPLE).tolist()})

    ids = frame["id"]
    values_check(0, ids, ids.isna())
    present = ids.dropna()
    values_check(1, present, present.duplicated(keep=False))
    age = frame["age"].dropna()
    values_check(2, age, ~age.between(AGE_MIN, AGE_MAX))
    income = frame["income"].dropna()
    values_check(3, income, ~income.between(INCOME_MIN, INCOME_MAX))
    region = frame["region"].dropna()
    values_check(4, region, ~region.isin(REGIONS))
    signup = frame["signup"].dropna().astype(str)
    values_check(5, signup, ~signup.str.match(DATE_REGEX))
    out.append({"position": 6, "success": rows <= len(frame) <= rows, "observed_value": len(frame)})
    mean = float(income.mean())
    out.append({"position": 7, "success": MEAN_MIN <= mean <= MEAN_MAX, "observed_value": mean})
    return out


def file_baseline(path: str, fmt: str, rows: int) -> list[dict[str, Any]]:
    frame = read_file(path, fmt)
    return pandas_checks(frame, rows)


def sql_baseline(location: str, rows: int) -> list[dict[str, Any]]:
    """One aggregate query for all verdicts, then one LIMIT query per failed check for its sample."""
    from sqlalchemy import create_engine, text

    url, _, table = location.partition("#")
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    regions = ", ".join(f"'{r}'" for r in REGIONS)
    date_bad = f"signup !~ '{DATE_REGEX}'" if postgres else f"signup NOT GLOB '{DATE_GLOB}'"
    bad = {  # position: (column, condition that makes a non-null value unexpected)
        0: ("id", "id IS NULL"),
        2: ("age", f"age < {AGE_MIN} OR age > {AGE_MAX}"),
        3: ("income", f"income < {INCOME_MIN} OR income > {INCOME_MAX}"),
        4: ("region", f"region NOT IN ({regions})"),
        5: ("signup", date_bad),
    }
    counted = ", ".join(f"coalesce(sum(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)" for _, condition in bad.values())
    query = (f"SELECT count(*), count(id), count(DISTINCT id), count(age), count(income), count(region), "
             f"count(signup), avg(income), {counted} FROM {table}")
    out: list[dict[str, Any]] = []
    try:
        with engine.connect() as connection:
            n, n_id, distinct_id, n_age, n_income, n_region, n_signup, mean, *bad_counts = connection.execute(text(query)).one()
            nonnull = {0: n, 2: n_age, 3: n_income, 4: n_region, 5: n_signup}
            for (position, (column, condition)), count in zip(bad.items(), bad_counts):
                sample = [] if not count else connection.execute(
                    text(f"SELECT {column} FROM {table} WHERE {condition} LIMIT {SAMPLE}")).scalars().all()
                out.append({"position": position, "success": count == 0, "unexpected_count": int(count),
                            "unexpected_percent": 100.0 * count / nonnull[position] if nonnull[position] else 0.0,
                            "sample": list(sample)})
            dupes = n_id - distinct_id
            entry: dict[str, Any] = {"position": 1, "success": dupes == 0, "unexpected_count": 0, "sample": []}
            if dupes:
                repeated = f"SELECT id FROM {table} WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1"
                entry["unexpected_count"] = int(connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE id IN ({repeated})")).scalar_one())
                entry["sample"] = connection.execute(
                    text(f"SELECT id FROM {table} WHERE id IN ({repeated}) LIMIT {SAMPLE}")).scalars().all()
            out.append(entry)
            out.append({"position": 6, "success": rows <= n <= rows, "observed_value": int(n)})
            out.append({"position": 7, "success": mean is not None and MEAN_MIN <= float(mean) <= MEAN_MAX,
                        "observed_value": None if mean is None else float(mean)})
    finally:
        engine.dispose()
    return sorted(out, key=lambda r: r["position"])


def baseline(fmt: str, location: str, rows: int) -> list[dict[str, Any]]:
    return file_baseline(location, fmt, rows) if fmt in ("csv", "parquet") else sql_baseline(location, rows)


# --- measuring ----------------------------------------------------------------------------------------

def clock(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Seconds `fn(*args, **kwargs)` took (after a full garbage collection), and its value."""
    gc.collect()
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def times(repeat: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[float]:
    return [clock(fn, *args, **kwargs)[0] for _ in range(repeat)]


def headwater_run(store: Any, name: str, *, force: bool) -> Any:
    from checks.service import run_checks

    report = run_checks(store, [name], force=force)
    (run,) = report.runs
    if run.error:
        raise RuntimeError(f"{name}: headwater could not check it: {run.error}")
    return report


def compare(headwater: list[Any], hand: list[dict[str, Any]]) -> list[str]:
    """Disagreements between Headwater's per-expectation results and the baseline's."""
    problems = []
    by_position = {r["position"]: r for r in hand}
    for result in headwater:
        mine = by_position[result.position]
        if result.errored:
            problems.append(f"#{result.position} {result.expectation}: errored in headwater: {result.error}")
        elif result.success != mine["success"]:
            problems.append(f"#{result.position} {result.expectation}: headwater says {result.success}, "
                            f"baseline {mine['success']}")
        elif result.success is False and "unexpected_count" in mine and result.unexpected_count != mine["unexpected_count"]:
            problems.append(f"#{result.position} {result.expectation}: {result.unexpected_count} unexpected in "
                            f"headwater, {mine['unexpected_count']} by hand")
    return problems


def machine() -> dict[str, Any]:
    return {**describe_machine("great_expectations", "pandas", "numpy", "pyarrow", "sqlalchemy", "psycopg"),
            "sqlite": sqlite3.sqlite_version}


def gx_startup_in_fresh_interpreter() -> dict[str, float]:
    code = (
        "import json, time\n"
        "t0 = time.perf_counter()\n"
        "from catalog.expectations import disable_gx_analytics\n"
        "disable_gx_analytics()\n"
        "import great_expectations\n"
        "t1 = time.perf_counter()\n"
        "from checks.validator import Validator\n"
        "Validator()\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'import_s': t1 - t0, 'context_s': t2 - t1, 'total_s': t2 - t0}))\n"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_wall_s"] = time.perf_counter() - start
    return figures


def memory_phase(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Runs one phase in a fresh interpreter (see `child`); returns its memory readings."""
    out = folder / f"memory-{spec['kind']}-{spec['format']}.json"
    spec = {**spec, "out": str(out)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.checks", "--child", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory phase {spec['kind']} {spec['format']} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(out.read_text()), "process_wall_s": time.perf_counter() - start}


def child(raw: str) -> None:
    """One phase alone in this process: imports and a warm-up on the tiny copy, reset the peak, the phase.

    The cached phase warms up with a cached run too, so GX is never imported there (as in real use).
    """
    spec = json.loads(raw)
    kind, fmt = spec["kind"], spec["format"]
    result: dict[str, Any] = {}
    if kind.startswith("headwater"):
        from catalog.store import Store

        store = Store(spec["store"])
        force = kind == "headwater_cold"
        headwater_run(store, spec["warmup"], force=force)
        gc.collect()
        result["after_imports"] = memory()
        reset_peak()
        base = memory()
        seconds, report = clock(headwater_run, store, spec["name"], force=force)
        result.update(validated=report.validated, reused=report.reused,
                      gx_imported="great_expectations" in sys.modules)
        store.close()
    else:
        baseline(fmt, spec["warmup_location"], TINY_ROWS)
        gc.collect()
        result["after_imports"] = memory()
        reset_peak()
        base = memory()
        seconds, _ = clock(baseline, fmt, spec["location"], spec["rows"])
    after = memory()
    result.update(base_kib=base["rss_kib"], peak_kib=after["peak_kib"], delta_kib=after["peak_kib"] - base["rss_kib"],
                  seconds=seconds)
    Path(spec["out"]).write_text(json.dumps(result))


# --- the run ------------------------------------------------------------------------------------------

def median(samples: list[float]) -> float:
    return statistics.median(samples)


def benchmark(rows: int, repeat: int, folder: Path, pg_server_url: str, measure_memory: bool,
              log: Callable[[str], None]) -> dict[str, Any]:
    from tests.postgres import create_database

    figures: list[dict[str, Any]] = []
    notes: list[str] = []

    def figure(name: str, fmt: str | None, headwater: list[float], base: list[float] | None, *,
               ratio_kind: str = "headwater/baseline", target: str = "", met: bool | None = None) -> None:
        hw, bl = median(headwater), (median(base) if base else None)
        ratio = None
        if bl is not None:
            ratio = hw / bl if ratio_kind == "headwater/baseline" else bl / hw
        figures.append({"figure": name, "format": fmt, "headwater_s": hw, "baseline_s": bl, "ratio": ratio,
                        "ratio_kind": ratio_kind, "target": target, "met": met,
                        "samples": {"headwater": headwater, "baseline": base}})

    log("GX import + context start in a fresh interpreter")
    startup = gx_startup_in_fresh_interpreter()

    log(f"generating {rows:,} rows and writing CSV, Parquet, SQLite, PostgreSQL")
    pg_url = create_database(pg_server_url, "headwater_bench")
    generated, frame = clock(make_frame, rows, seed=20_260_101)
    written, locations = clock(write_formats, frame, folder, "bench", pg_url)
    tiny = write_formats(make_frame(TINY_ROWS, seed=7), folder, "tiny", pg_url)
    sizes = {fmt: Path(locations[fmt]).stat().st_size for fmt in ("csv", "parquet")}
    sizes["sqlite"] = Path(locations["sqlite"].removeprefix("sqlite:///").partition("#")[0]).stat().st_size
    del frame
    notes.append(f"data generated in {generated:.1f} s and written four ways in {written:.1f} s; "
                 f"CSV {sizes['csv'] / 1e6:.1f} MB, Parquet {sizes['parquet'] / 1e6:.1f} MB, "
                 f"SQLite file {sizes['sqlite'] / 1e6:.1f} MB")

    from catalog.expectations import normalise
    from catalog.loader import load_catalog
    from catalog.locations import parse_location
    from catalog.store import Store

    catalog = write_catalog(folder, {"bench": locations, "tiny": tiny}, {"bench": rows, "tiny": TINY_ROWS})
    store_url = f"sqlite:///{folder}/store.db"  # not bench.db, the SQLite data file (module docstring)
    store = Store(store_url)
    load_catalog(store, [catalog])
    suite = [normalise(entry) for entry in expectations(rows)]

    log("warming up: a forced check of every 1,000-row dataset, and the baselines on the same")
    for fmt in FORMATS:
        headwater_run(store, f"tiny_{fmt}", force=True)
        baseline(fmt, tiny[fmt], TINY_ROWS)

    from catalog.fingerprint import observe, split_table
    from checks.frames import read_frame
    from checks.validator import Validator

    # Everything imported so far is long-lived: exempt it from collection, so the gc.collect() before each
    # timing takes milliseconds, not a tenth of a second (GX alone tracks about a million objects).
    gc.collect()
    gc.freeze()
    contexts = times(max(repeat, 5), Validator)
    figure("Validator() context start, GX already imported (inside every cold run)", None, contexts, None)

    import checks.service as service_module

    scans: list[str] = []  # every fingerprint run_checks computes, counted (one list append per scan)
    real_observe = service_module.observe

    def counted_observe(location: Any) -> Any:
        scans.append(location.kind)
        return real_observe(location)

    service_module.observe = counted_observe
    verdicts: dict[str, Any] = {}
    for fmt in FORMATS:
        name, location = f"bench_{fmt}", locations[fmt]
        log(f"{fmt}: cold, cached and baseline x{repeat}")
        cold, cached, hand = [], [], []
        scanned_cached = 0  # cached runs that fingerprinted the data (for tables: no change signal was given)
        for _ in range(repeat):
            seconds, report = clock(headwater_run, store, name, force=True)
            cold.append(seconds)
            if report.validated != 1:
                notes.append(f"{fmt}: a forced run did not validate")
            scans_before = len(scans)
            seconds, again = clock(headwater_run, store, name, force=False)
            cached.append(seconds)
            scanned_cached += len(scans) > scans_before
            if again.reused != 1:
                notes.append(f"{fmt}: the re-run after a cold run was not reused (validated {again.validated})")
            seconds, by_hand = clock(baseline, fmt, location, rows)
            hand.append(seconds)
        run = report.runs[0]
        disagreements = compare(run.results, by_hand)
        verdicts[fmt] = {
            "outcome": run.outcome, "failed": run.failed, "evaluated": run.evaluated,
            "headwater": [{"position": r.position, "expectation": r.expectation, "success": r.success,
                           "unexpected_count": r.unexpected_count, "sample": r.sample} for r in run.results],
            "baseline": by_hand, "disagreements": disagreements,
        }
        if disagreements:
            notes.append(f"{fmt}: Headwater and the baseline disagree: " + "; ".join(disagreements))
        files = fmt in ("csv", "parquet")
        against = "pandas read + checks" if files else "raw SQL aggregate"
        ratio = median(cold) / median(hand)
        figure(f"{fmt}: cold run_checks(force=True) vs {against}", fmt, cold, hand,
               target=f"<= {COLD_TARGET:g}", met=ratio <= COLD_TARGET)
        speedup = median(cold) / median(cached)
        figure(f"{fmt}: cached run_checks (reused) vs cold; ratio = cold/cached", fmt, cached, cold,
               ratio_kind="baseline/headwater", target=f">= {CACHED_TARGET:g}", met=speedup >= CACHED_TARGET)

        log(f"{fmt}: breakdown")
        parsed = parse_location(location)
        prints = times(repeat, observe, parsed)
        if files:
            from catalog.fingerprint import file_signal

            signals = times(repeat, file_signal, Path(parsed.value))
            figure(f"{fmt}: fingerprint alone (observe; part of cold only)", fmt, prints, None)
            figure(f"{fmt}: change signal alone (file_signal; part of cold and cached)", fmt, signals, None)
            notes.append(f"{fmt}: the fingerprint ({median(prints):.3f} s) is {median(prints) / median(cold):.0%} of "
                         f"the cold run; the change signal ({median(signals):.6f} s) is "
                         f"{median(signals) / median(cached):.1%} of the cached run")
            if scanned_cached:
                notes.append(f"{fmt}: {scanned_cached} of {repeat} cached runs hashed the file (no change signal: "
                             "written within the settle window, or moved)")
        else:
            from catalog.fingerprint import table_signal

            table_url, table_name = parsed.value.partition("#")[0], parsed.table or ""
            signals = times(repeat, table_signal, table_url, table_name)
            figure(f"{fmt}: fingerprint alone (observe; part of cold only)", fmt, prints, None)
            figure(f"{fmt}: change signal alone (table_signal; part of cold and cached)", fmt, signals, None)
            carried = not scanned_cached
            notes.append(f"{fmt}: the fingerprint ({median(prints):.3f} s) is {median(prints) / median(cold):.0%} of "
                         f"the cold run; the change signal ({median(signals):.3f} s) is "
                         f"{median(signals) / median(cached):.0%} of the cached run")
            if not carried:
                notes.append(f"{fmt}: no change signal was given: the cached runs scanned the table")
        validator = Validator()
        if files:
            reads = times(repeat, read_frame, location, fmt)
            figure(f"{fmt}: read alone (checks.frames.read_frame; same call as the baseline's)", fmt, reads, None)
            frame = read_frame(location, fmt)
            gx_only = times(repeat, validator.validate_frame, frame, suite, samples=True)
            pandas_only = times(repeat, pandas_checks, frame, rows)
            figure(f"{fmt}: GX validate_frame vs pandas checks, frame in memory", fmt, gx_only, pandas_only)
            frame = None
        else:
            schema, table = split_table(parsed.table or "")
            gx_only = times(repeat, validator.validate_table, parsed.value.partition("#")[0], schema, table, suite,
                            samples=True)
            figure(f"{fmt}: GX validate_table alone vs raw SQL", fmt, gx_only, hand)
        validator = None

    service_module.observe = real_observe
    memory_rows: list[dict[str, Any]] = []
    if measure_memory:
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, min(2, len(os.sched_getaffinity(0))))
        log(f"peak memory: one subprocess per phase, {workers} at a time")
        kinds = ("headwater_cold", "headwater_cached", "baseline")
        with ThreadPoolExecutor(workers) as pool:
            futures = {
                (fmt, kind): pool.submit(memory_phase, {
                    "kind": kind, "format": fmt, "store": store_url, "name": f"bench_{fmt}", "warmup": f"tiny_{fmt}",
                    "location": locations[fmt], "warmup_location": tiny[fmt], "rows": rows,
                }, folder)
                for kind in kinds for fmt in FORMATS  # the four slow GX subprocesses first
            }
            for fmt in FORMATS:
                phases = {kind: futures[fmt, kind].result() for kind in kinds}
                cached = phases["headwater_cached"]
                if cached.get("reused") != 1:
                    notes.append(f"{fmt}: the cached run in the memory subprocess was not reused")
                if cached.get("gx_imported"):
                    notes.append(f"{fmt}: the cached run imported great_expectations")
                memory_rows.append({"format": fmt, **phases})

    store.close()
    pg_version = _pg_version(pg_url)
    return {
        "figures": figures, "memory": memory_rows, "verdicts": verdicts, "notes": notes,
        "gx_startup_fresh_interpreter": startup,
        "postgresql": pg_version, "data_bytes": sizes,
    }


def _pg_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


# --- reporting ------------------------------------------------------------------------------------------

def _s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def code_version() -> dict[str, Any]:
    """The commit, uncommitted product changes, and a digest of the product's source as it is now."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    product = ("catalog", "checks", "lineage", "api")
    digest = hashlib.sha256()
    for path in sorted(p for folder in product for p in (ROOT / folder).rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return {"commit": git("rev-parse", "HEAD") or None,
            "product_changes": git("status", "--porcelain", "--", *product).splitlines(),
            "product_source_sha256": digest.hexdigest()}


def _load(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"# Headwater checks benchmark: {result['rows']:,} rows",
        "",
        f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['ram_gib']} GiB RAM, {m['os']}.",
        f"Python {m['python']}, Great Expectations {m['great_expectations']}, pandas {m['pandas']}, "
        f"pyarrow {m['pyarrow']}, SQLAlchemy {m['sqlalchemy']}, SQLite {m['sqlite']}, "
        f"PostgreSQL {result['postgresql']} (local, loopback, fsync off).",
        f"Code: commit {(result['code']['commit'] or 'unknown')[:12]}"
        + (f" with uncommitted product changes ({len(result['code']['product_changes'])} files)"
           if result["code"]["product_changes"] else ", product code unmodified") + ".",
        f"Command: `{result['command']}`; started {result['started_at']}, wall time {result['wall_s']:.0f} s. "
        f"Every figure is the median of {result['repeat']} runs in this one process. Load average (1, 5, 15 min) "
        f"before: {_load(result['load_average']['before'])}; after: {_load(result['load_average']['after'])} "
        "(other work on the machine skews the figures).",
        "",
        "| figure | headwater s | baseline s | ratio | target | met? |",
        "|---|---:|---:|---:|---|---|",
    ]
    for f in result["figures"]:
        ratio = "—" if f["ratio"] is None else f"{f['ratio']:.2f}"
        met = "" if f["met"] is None else ("yes" if f["met"] else "**no**")
        lines.append(f"| {f['figure']} | {_s(f['headwater_s'])} | {_s(f['baseline_s'])} | {ratio} | "
                     f"{f['target'] or ''} | {met} |")
    g = result["gx_startup_fresh_interpreter"]
    lines.append(f"| GX import + first context start, fresh interpreter (excluded above) | {_s(g['total_s'])} | — | — | | |")
    lines += ["", f"GX start-up in a fresh interpreter: import {g['import_s']:.2f} s + context {g['context_s']:.2f} s; "
              f"the whole `python -c` took {g['process_wall_s']:.2f} s."]
    if result["memory"]:
        lines += [
            "", "## Peak memory (MiB)", "",
            "Each phase ran alone in a fresh subprocess (two at a time; peak memory is per process). The subprocess "
            "imports what it needs and warms up on the 1,000-row copy, then resets its peak (`5` > "
            "`/proc/self/clear_refs`) and runs the phase. \"peak\" is `VmHWM` from `/proc/self/status` after the "
            "phase: the process's whole resident high-water mark, C allocations (pandas, pyarrow, SQLite, psycopg) "
            "included; Δ is peak minus the RSS at the reset, i.e. what the phase itself needed. `ru_maxrss` is not "
            "used: Linux carries a parent's peak into a child across fork and exec, so every subprocess reported "
            "the benchmark's own footprint. The PostgreSQL server's memory is not counted.", "",
            "| format | headwater cold: peak (Δ) | headwater cached: peak (Δ) | baseline: peak (Δ) | cold Δ / baseline Δ |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in result["memory"]:
            def cell(phase: dict[str, Any]) -> str:
                return f"{phase['peak_kib'] / 1024:.0f} (+{phase['delta_kib'] / 1024:.0f})"
            base_delta = row["baseline"]["delta_kib"]
            ratio = f"{row['headwater_cold']['delta_kib'] / base_delta:.1f}" if base_delta >= 1024 else "—"
            lines.append(f"| {row['format']} | {cell(row['headwater_cold'])} | {cell(row['headwater_cached'])} | "
                         f"{cell(row['baseline'])} | {ratio} |")
    lines += ["", "## Verdicts", ""]
    for fmt, v in result["verdicts"].items():
        failing = [f"#{r['position']} {r['expectation'].removeprefix('expect_')} ({r['unexpected_count']})"
                   for r in v["headwater"] if r["success"] is False]
        agree = "agrees with the baseline" if not v["disagreements"] else "DISAGREES: " + "; ".join(v["disagreements"])
        lines.append(f"- {fmt}: outcome `{v['outcome']}`, {v['failed']} of {v['evaluated']} failed "
                     f"({', '.join(failing) or 'none'}); {agree}.")
    if result["notes"]:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in result["notes"]]
    lines += [
        "", "## What is measured", "",
        "- cold: `run_checks(store, [name], force=True)` = the full fingerprint (on a second thread) + read (files) "
        "+ a fresh GX context + one BASIC pass (verdicts with their counts; on frames the samples too) + for tables "
        "GX's `unexpected_values` metric of the failed expectations (their samples) + the change signal before and "
        "after (tables) + recording the run. GX's import is excluded (warm-up on 1,000-row copies first).",
        "- baseline: files: `pd.read_csv(low_memory=False)` / `pd.read_parquet` + vectorised checks, computing "
        "the same verdicts and, for failures, the unexpected count and a 10-value sample; tables: one aggregate "
        "query (`count(DISTINCT id)`, `CASE` sums, `avg`) + one `LIMIT 10` query per failed check, connection "
        "set-up included. The date check is a regex in pandas and PostgreSQL, a `GLOB` in SQLite (no regex there). "
        "The baseline does not fingerprint: that is Headwater's extra work, shown on its own line.",
        "- cached: `run_checks(force=False)` right after a cold run: read the change signal (a file's stat, a "
        "table's metadata) and carry the fingerprint over, find the verdict still holds, "
        "record a run that reuses it.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.checks", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is reported")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if args.rows < TINY_ROWS or args.repeat < 1:
        parser.error(f"--rows must be at least {TINY_ROWS} and --repeat at least 1")

    from tests.postgres import PostgresServer

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    version_before = code_version()
    folder = Path(tempfile.mkdtemp(prefix="headwater-bench-"))
    log(f"working in {folder}; starting PostgreSQL")
    server = PostgresServer().start()
    try:
        result = benchmark(args.rows, args.repeat, folder, server.url, not args.no_memory, log)
    finally:
        server.stop()
        if args.keep:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    command = "python -m benchmarks.checks " + " ".join(argv if argv is not None else sys.argv[1:])
    result = {
        "benchmark": "checks", "rows": args.rows, "repeat": args.repeat, "command": command.strip(),
        "started_at": started_at, "wall_s": time.perf_counter() - start, "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()}, "code": version_before, **result,
    }
    if code_version()["product_source_sha256"] != version_before["product_source_sha256"]:
        result["notes"].append("the product code changed while this benchmark ran: the figures mix two versions")
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = render(result)
    (args.out / "checks.md").write_text(markdown, encoding="utf-8")
    (args.out / "checks.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(markdown)
    log(f"wrote {args.out / 'checks.md'} and {args.out / 'checks.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
