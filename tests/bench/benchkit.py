"""Helpers shared by the benchmarks: fresh files, timing, printing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def fresh(path: Path) -> Path:
    """`path` with no database file (or WAL) left from an earlier run."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return path


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def show(title: str, rows: list[tuple[str, float, str]]) -> None:
    """Print one benchmark's figures: label, seconds, and a note (ratio, rate)."""
    print(f"\n== {title}")
    for label, seconds, note in rows:
        print(f"  {label:<58} {seconds:9.3f} s  {note}")
