"""Benchmarks: printed as ratios against a baseline measured in the same run, never asserted.

Run with `make bench` (pytest tests/bench -m bench -s). They need the demo estate in
BACKROOM_BENCH_ESTATE (default /work/bench/estate-2.5m) and write under BACKROOM_BENCH_DIR.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchkit import show, timed

from collectors import ingest_paths
from queries import Store

ESTATE = Path(os.environ.get("BACKROOM_BENCH_ESTATE", "/work/bench/estate-2.5m"))
WORK = Path(os.environ.get("BACKROOM_BENCH_DIR", "/work/bench/cache"))
# The estate ingested once (2.5M orders: ~18M events, ~40M spans); later runs reuse it.
STORE = Path(os.environ.get("BACKROOM_BENCH_STORE", "/work/bench/store-2.5m.duckdb"))


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
    """STORE, built from the estate by `ingest_paths` on the first run (idempotent: resumes)."""
    store = Store.at(STORE)
    if not _complete(store):
        seconds, report = timed(lambda: ingest_paths(store, [estate]))
        show("building the 2.5M-order store (once)", [
            ("backroom ingest of the whole estate", seconds, report.summary_line())])
    return store


def _complete(store: Store) -> bool:
    """Whether the store holds the estate: every file of it is logged as finished."""
    if not STORE.exists():
        return False
    with store.reading() as cursor:
        row = cursor.execute(
            "SELECT count(DISTINCT source) FROM ingest_log WHERE finished_at IS NOT NULL").fetchone()
    inputs = [path for folder in ("events", "dlq", "traces") if (ESTATE / folder).is_dir()
              for path in (ESTATE / folder).iterdir() if path.is_file()]
    return bool(row and row[0] >= len(inputs))
