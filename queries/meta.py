"""Facts about the store itself (store_meta), such as whether `backroom demo` built it."""

from __future__ import annotations

import duckdb

ORIGIN_KEY = "origin"
DEMO_ORIGIN = "demo"  # `backroom demo` marks its store so: its dead letters are on no broker


def get(cursor: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = cursor.execute("SELECT value FROM store_meta WHERE key = $key", {"key": key}).fetchone()
    return str(row[0]) if row else None


def put(cursor: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    cursor.execute(
        "INSERT OR REPLACE INTO store_meta (key, value) VALUES ($key, $value)",
        {"key": key, "value": value},
    )


def is_demo(cursor: duckdb.DuckDBPyConnection) -> bool:
    """Whether `backroom demo` built this store (its replays go to the sandbox runtime)."""
    return get(cursor, ORIGIN_KEY) == DEMO_ORIGIN


def counts(cursor: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per canonical table, and distinct orders seen anywhere."""
    row = cursor.execute(
        "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM events), "
        "(SELECT count(*) FROM dlq_messages), (SELECT count(*) FROM rejects), "
        "(SELECT count(DISTINCT order_id) FROM events WHERE order_id IS NOT NULL)"
    ).fetchone()
    assert row is not None
    keys = ("spans", "events", "dlq_messages", "rejects", "orders")
    return {key: int(value) for key, value in zip(keys, row)}
