"""Keep the per-order rollups (orders, order_states) in step with the events, inside the writer."""

from __future__ import annotations

import duckdb

from queries.policy import CANONICAL_STATES
from queries.sqlfiles import sql


def refresh_orders(cursor: duckdb.DuckDBPyConnection, since_ingest: int) -> None:
    """Recompute the rollups of every order touched by ingests numbered `since_ingest` or later."""
    cursor.execute(sql("refresh_order_states"), {"since_ingest": since_ingest})
    cursor.execute(sql("refresh_orders"),
                   {"since_ingest": since_ingest, "ranked_states": list(CANONICAL_STATES)})

