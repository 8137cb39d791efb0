"""Queries behind replay and reroute: the selection, what the orders reached, history, status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import orjson
from pydantic import BaseModel

from queries.sqlfiles import sql

if TYPE_CHECKING:
    import pyarrow as pa


class ReplayRow(BaseModel):
    """A stored dead letter as replay needs it (body included, for store-sourced runtimes)."""

    id: str
    broker: str
    vhost: str | None
    queue: str
    original_exchange: str | None
    original_routing_key: str | None
    original_queue: str | None
    message_id: str | None
    order_id: str | None
    content_type: str | None
    properties: dict[str, Any]
    headers: dict[str, Any]
    body: bytes
    body_sha256: str | None
    status: str
    group: str | None
    death_count: int | None
    first_death_at: datetime | None
    last_death_at: datetime | None
    trace_id: str | None


class ReplayRecord(BaseModel):
    """One replay attempt of one dead letter, as it ended."""

    replay_id: str
    run_id: str
    dlq_id: str
    action: str
    target: str | None
    outcome: str
    cause: str | None = None
    replay_count: int | None = None
    trace_id: str | None = None
    span_id: str | None = None


def _dicts(cursor: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor.execute(sql(name), params)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def selection(cursor: duckdb.DuckDBPyConnection, keys: list[str], group: str | None) -> list[ReplayRow]:
    """Dead letters named by id or message id, plus a failure group's dead ones, oldest first."""
    rows = _dicts(cursor, "replay_rows", {"keys": keys, "group": group})
    for row in rows:
        for field in ("properties", "headers"):
            row[field] = orjson.loads(row[field]) if row[field] else {}
        row["body"] = bytes(row["body"] or b"")
    return [ReplayRow(**row) for row in rows]


def order_states(cursor: duckdb.DuckDBPyConnection, order_ids: list[str]) -> dict[str, list[str]]:
    """order id -> the canonical states it reached, in order."""
    reached: dict[str, list[str]] = {}
    for row in _dicts(cursor, "replay_order_states", {"order_ids": order_ids}):
        reached.setdefault(row["order_id"], []).append(row["state"])
    return reached


def newer_dead_letters(cursor: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, str]:
    """dead letter id -> a newer dead letter for the same order and destination."""
    return {row["id"]: row["newer_id"] for row in _dicts(cursor, "replay_newer", {"ids": ids})}


def confirmed_before(cursor: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, ReplayRecord]:
    """dead letter id -> its latest replay that a runtime confirmed."""
    found: dict[str, ReplayRecord] = {}
    for row in _dicts(cursor, "replay_history", {"ids": ids}):
        row.pop("at", None)
        found.setdefault(row["dlq_id"], ReplayRecord(**row))
    return found


def _insert(cursor: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """INSERT OR REPLACE a whole Arrow batch (row-by-row executemany is ~20 ms a row in DuckDB)."""
    cursor.register("incoming_replay_rows", rows)
    try:
        cursor.execute(f"INSERT OR REPLACE INTO {table} BY NAME SELECT * FROM incoming_replay_rows")
    finally:
        cursor.unregister("incoming_replay_rows")


def record(cursor: duckdb.DuckDBPyConnection, records: list[ReplayRecord]) -> None:
    """Store how each attempt ended (a resumed attempt replaces its earlier row)."""
    if not records:
        return
    import pyarrow as pa  # here, not at the top: the read-only CLI commands never need it

    columns = {name: [getattr(r, name) for r in records] for name in ReplayRecord.model_fields}
    columns["replay_count"] = pa.array(columns["replay_count"], pa.int32())
    columns["at"] = pa.array([datetime.now(UTC)] * len(records), pa.timestamp("us", tz="UTC"))
    _insert(cursor, "replays", pa.table(columns))


def mark(cursor: duckdb.DuckDBPyConnection, ids: list[str], status: str, reason: str | None = None) -> None:
    """Move dead letters to `status` (replayed, rerouted, discarded), noting why."""
    if not ids:
        return
    import pyarrow as pa

    cursor.execute(sql("replay_mark"), {"ids": ids, "status": status})
    notes = pa.table({"dlq_id": ids, "status": [status] * len(ids),
                      "reason": pa.array([reason] * len(ids), pa.string()),
                      "at": pa.array([datetime.now(UTC)] * len(ids), pa.timestamp("us", tz="UTC"))})
    _insert(cursor, "dlq_status_notes", notes)


def died_again(cursor: duckdb.DuckDBPyConnection, message_ids: list[str], ids: list[str]) -> str | None:
    """A message id among `message_ids` dead again under a new dead-letter id, if any."""
    row = cursor.execute(sql("replay_died_again"), {"message_ids": message_ids, "ids": ids}).fetchone()
    return str(row[0]) if row else None
