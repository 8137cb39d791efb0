"""Keep the per-order rollups (orders, order_states) in step with the events, inside the writer."""

from __future__ import annotations

import duckdb

from queries import search_index
from queries.policy import CANONICAL_STATES
from queries.store import Store
from queries.sqlfiles import sql


def refresh_orders(cursor: duckdb.DuckDBPyConnection, since_ingest: int) -> None:
    """Recompute the rollups of every order touched by ingests numbered `since_ingest` or later."""
    cursor.execute(sql("refresh_order_states"), {"since_ingest": since_ingest})
    cursor.execute(sql("refresh_orders"),
                   {"since_ingest": since_ingest, "ranked_states": list(CANONICAL_STATES)})


def after_ingest(store: Store, since_ingest: int = 0) -> None:
    """Bring the rollups and the fts index up to date after new rows went in."""
    with store.writing() as cursor:
        refresh_orders(cursor, since_ingest)
    search_index.rebuild(store)
