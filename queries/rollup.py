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
