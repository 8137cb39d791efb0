"""Keep the per-order rollups (orders, order_states) in step with the events, inside the writer."""

from __future__ import annotations

import duckdb

from queries.policy import CANONICAL_STATES
from queries.sqlfiles import sql


def refresh_orders(cursor: duckdb.DuckDBPyConnection, since_ingest: int) -> None:
    """Recompute the rollups of every order touched by ingests numbered `since_ingest` or later.

    When the table holds no row of any of these orders yet (a new store, a backfill of new
    orders), a plain INSERT writes them: INSERT OR REPLACE runs as a MERGE, about a fifth more.
    """
    for name, table, params in (
        ("refresh_order_states", "order_states", {"since_ingest": since_ingest}),
        ("refresh_orders", "orders",
         {"since_ingest": since_ingest, "ranked_states": list(CANONICAL_STATES)}),
    ):
        text = sql(name)
        if not _holds_any(cursor, table, since_ingest):
            text = text.replace("INSERT OR REPLACE INTO", "INSERT INTO", 1)
        cursor.execute(text, params)


def _holds_any(cursor: duckdb.DuckDBPyConnection, table: str, since_ingest: int) -> bool:
    """Whether `table` has a row of an order that events of these ingests name."""
    row = cursor.execute(  # `table` is one of the two rollup tables, never input
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE order_id IN "
        "(SELECT order_id FROM events WHERE ingest_id >= $since_ingest))",
        {"since_ingest": since_ingest}).fetchone()
    return bool(row and row[0])



def note_trace_windows(cursor: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Record where the traces of a batch of spans lie in time (006_trace_windows.sql).

    `relation` names the batch just offered to `INSERT OR IGNORE INTO spans` (a registered view),
    in the same unit of work. Rows it held that were duplicates only widen a window already noted.
    """
    if not relation.isidentifier():
        raise ValueError(f"not a relation name: {relation!r}")
    columns = {column[0] for column in cursor.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    # a batch may lack start times altogether (an older spool segment): its spans count as untimed
    start = "start_time" if "start_time" in columns else "NULL::TIMESTAMPTZ"
    ingest = "ingest_id" if "ingest_id" in columns else "NULL::BIGINT"
    cursor.execute(sql("trace_windows_note").replace("{relation}", relation)
                   .replace("{start}", start).replace("{ingest}", ingest))
