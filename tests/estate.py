"""Small hand-made estates for query tests: canonical rows written straight into a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
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


def event(order_id: str, event_type: str, at: datetime, *, channel: str = "ecommerce",
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
