"""Benchmarks: printed as ratios against a baseline measured in the same run, never asserted.

Run with `make bench` (pytest tests/bench -m bench -s). They need the demo estate in
BACKROOM_BENCH_ESTATE (default /work/bench/estate-2.5m) and write under BACKROOM_BENCH_DIR.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchkit import show

from collectors import IngestReport, ingest_paths
from queries import Store
from queries import ingest as log

ESTATE = Path(os.environ.get("BACKROOM_BENCH_ESTATE", "/work/bench/estate-2.5m"))
WORK = Path(os.environ.get("BACKROOM_BENCH_DIR", "/work/bench/cache"))
# The estate ingested once (2.5M orders: ~18M events, ~40M spans); later runs reuse it.
STORE = Path(os.environ.get("BACKROOM_BENCH_STORE", "/work/bench/store-2.5m.duckdb"))
# More estates for the store, with order ids of their own: the console's targets are set on a 20M-event
# store, and 2.5M orders give 18.0M events. README (Performance) tells how the one used was made:
# `python -m collectors.demo X --orders 330000 --seed 8`, then `sed 's/ORD-0/ORD-9/g'` over its files.
EXTRA = [Path(part) for part in os.environ.get("BACKROOM_BENCH_EXTRA", "").split(os.pathsep) if part]



def estate_now(estate: Path) -> datetime:
    """The instant the estate was generated as of (its manifest's "now"): the benches ask as of it,
    as on-call would right after the data arrived. A fixed instant before an estate came with one;
    an estate generated on another day left that instant before its data and every figure empty."""
    manifest = estate / "manifest.json"
    if manifest.is_file():
        return datetime.fromisoformat(json.loads(manifest.read_text())["generator"]["now"])
    return datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


AT = estate_now(ESTATE)

def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.bench)


@pytest.fixture(scope="session")
def estate() -> Path:
    if not (ESTATE / "events").is_dir():
        pytest.skip(f"no demo estate at {ESTATE} (python -m collectors.demo OUT --orders N)")
    return ESTATE


@pytest.fixture(scope="session")
def work() -> Iterator[Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    yield WORK


@pytest.fixture(scope="session")
def big_store(estate: Path) -> Store:
    """STORE, built once from the estate and reused by later runs.

    Events and dead letters go in through backroom's own ingest (one attachment held throughout,
    so no per-file checkpoint); the spans through `spans_bulk.sql`, DuckDB's reader over the OTLP
    files, because the Python OTLP parser needs over an hour for 40M spans on this machine.
    """
    store = Store.at(STORE)
    if STORE.exists():
        return store
    started = time.perf_counter()
    report = add_estate(store, estate)
    for extra in EXTRA:
        add_estate(store, extra)
    show("building the 2.5M-order store (once)", [
        ("events and dead letters by backroom ingest, spans in bulk", time.perf_counter() - started,
         report.summary_line())])
    return store


def add_estate(store: Store, estate: Path) -> IngestReport:
    """An estate's files into the store: events and dead letters by ingest, spans in bulk."""
    with store.writing(transaction=False) as outer:
        outer.execute("SET checkpoint_threshold = '8GB'")
        report = ingest_paths(store, [estate / "events", estate / "dlq"])
        load_spans_bulk(store, sorted((estate / "traces").glob("*.jsonl")))
        outer.execute("CHECKPOINT")
    return report


def load_spans_bulk(store: Store, files: list[Path]) -> None:
    """The trace files into `spans` by `spans_bulk.sql`, one ingest (and unit of work) a file, as
    `backroom ingest` would log them; each batch's trace windows noted as backroom's writers do."""
    bulk = (Path(__file__).parent / "spans_bulk.sql").read_text()
    for path in files:
        with store.writing() as cursor:
            ingest_id = log.start(cursor, str(path), "otlp")
            cursor.execute(bulk, {"files": [str(path)], "ingest_id": ingest_id})
            cursor.execute("INSERT INTO trace_windows SELECT trace_id, ingest_id, min(start_time), "
                           "max(start_time), count(*) FILTER (start_time IS NULL), count(*) "
                           "FROM spans WHERE ingest_id = $id GROUP BY ALL", {"id": ingest_id})
