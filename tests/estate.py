"""Small hand-made estates for query tests: canonical rows written straight into a store."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pyarrow as pa

from queries import Store, ingest, rollup
from queries.policy import load

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
_ids = count(1)
_STATES = load().states
_TS = pa.timestamp("us", tz="UTC")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def event(order_id: str | None, event_type: str, at: datetime, *, channel: str = "ecommerce",
          recorded: datetime | None = None, system: str = "ecommerce", **fields: Any) -> dict[str, Any]:
    """One business event as the collectors would store it."""
    return {"event_id": fields.pop("event_id", f"e-{next(_ids)}"), "source": f"/test/{system}",
            "type": event_type, "state": _STATES.get(event_type), "system": system,
            "channel": channel, "order_id": order_id, "occurred_at": at,
            "recorded_at": recorded or at, "payload": "{}", **fields}


def add_events(store: Store, events: list[dict[str, Any]]) -> None:
    """Insert events as one ingest and refresh the per-order rollups, as the collectors do."""
    columns = sorted({key for row in events for key in row})
    table = pa.table({key: pa.array([row.get(key) for row in events],
                                    _TS if key.endswith("_at") else None) for key in columns})
    with store.writing() as cursor:
        ingest_id = ingest.start(cursor, "test", "events")
        ingest.insert_rows(cursor, ingest.Table.EVENTS, table.append_column(
            "ingest_id", pa.array([ingest_id] * table.num_rows, pa.int64())))
        rollup.refresh_orders(cursor, ingest_id)


def add_rows(store: Store, table: ingest.Table, rows: list[dict[str, Any]], *,
             stamped: bool = True) -> None:
    """Insert spans or dead letters as one ingest (`stamped=False`: rows without an ingest id,
    as a store written before ingest ids holds them)."""
    columns = sorted({key for row in rows for key in row})
    arrays = {}
    for key in columns:
        values = [row.get(key) for row in rows]
        kind = _TS if key.endswith(("_at", "_time")) else pa.binary() if key == "body" else None
        arrays[key] = pa.array(values, kind)
    with store.writing() as cursor:
        ingest_id = ingest.start(cursor, "test", table.value)
        if stamped:
            arrays["ingest_id"] = pa.array([ingest_id] * len(rows), pa.int64())
        ingest.insert_rows(cursor, table, pa.table(arrays))
        rollup.refresh_orders(cursor, ingest_id)


def span(trace_id: str, span_id: str, service: str, name: str, start: datetime, millis: float,
         **fields: Any) -> dict[str, Any]:
    return {"trace_id": trace_id, "span_id": span_id, "service": service, "name": name,
            "start_time": start, "end_time": start + timedelta(milliseconds=millis),
            "duration_ms": millis, "status_code": fields.pop("status_code", 0), **fields}


def dead_letter(dlq_id: str, queue: str, order_id: str | None, **fields: Any) -> dict[str, Any]:
    return {"id": dlq_id, "broker": "rabbitmq", "queue": queue, "order_id": order_id,
            "reason": "rejected", "death_count": 1, "status": "dead", "body": b"{}", **fields}


UNCOVERED_SPANS = """
SELECT count(*) FROM spans s WHERE NOT EXISTS (
    SELECT 1 FROM trace_windows w WHERE w.trace_id = s.trace_id
      AND w.ingest_id IS NOT DISTINCT FROM s.ingest_id
      AND (s.start_time BETWEEN w.first_start AND w.last_start OR (s.start_time IS NULL AND w.untimed > 0)))
"""


def uncovered_spans(store: Store) -> int:
    """Spans whose trace has no time window that holds them: a journey would not stitch them."""
    with store.reading() as cursor:
        return int(cursor.execute(UNCOVERED_SPANS).fetchone()[0])  # type: ignore[index]


def hold(store_path: Path) -> subprocess.Popen[str]:
    """Another process that holds the store's lock until told to let go."""
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import duckdb, sys\n"
                                f"con = duckdb.connect({str(store_path)!r})\n"
                                "print('held', flush=True)\nsys.stdin.readline()\ncon.close()\n"
                                "print('released', flush=True)")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    holder.wait()
