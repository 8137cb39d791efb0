"""Benchmarks: printed as ratios against a baseline measured in the same run, never asserted.

Run with `make bench` (pytest tests/bench -m bench -s). They need the demo estate in
BACKROOM_BENCH_ESTATE (default /work/bench/estate-2.5m) and write under BACKROOM_BENCH_DIR.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ESTATE = Path(os.environ.get("BACKROOM_BENCH_ESTATE", "/work/bench/estate-2.5m"))
WORK = Path(os.environ.get("BACKROOM_BENCH_DIR", "/work/bench/cache"))


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
