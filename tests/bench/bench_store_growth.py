"""One live batch into stores of growing size: what the spans key costs as history builds up.

A live collector (`collect`, the OTLP/HTTP receiver) writes each batch in a unit of work of its
own and lets go of the store after it, so that a console can read; letting go checkpoints, and
what the checkpoint does for the key's index (an ART over trace_id and span_id) grows with the
rows stored. The baseline, measured in the same run, is the same batch into a store of the same
size whose `spans` table has no key.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pyarrow as pa
from benchkit import fresh, show

from collectors import ingest_paths
from queries import Store
from queries import ingest as log
from queries.ingest import Table

SIZES = (0, 1_000_000, 4_000_000)
BATCH = 20_000  # about a second of the receiver's traffic at its target rate
WRITES = 3


def template(estate: Path, work: Path) -> pa.Table:
    """BATCH spans of the estate, as backroom stored them."""
    store = Store(fresh(work / "growth-template.duckdb"))
    source = min((estate / "traces").glob("traces-*.jsonl"))
    ingest_paths(store, [source])
    with store.reading() as cursor:
        rows = cursor.execute("SELECT * FROM spans LIMIT $n", {"n": BATCH}).to_arrow_table()
    assert rows.num_rows == BATCH, f"{source} holds fewer than {BATCH} spans"
    return rows


def store_of(path: Path, rows: pa.Table, size: int, keyed: bool) -> Store:
    """A store whose `spans` holds `size` spans: copies of `rows` under trace ids of their own."""
    store = Store(fresh(path))
    with store.writing() as cursor:
        if not keyed:
            cursor.execute("CREATE TABLE spans_plain AS SELECT * FROM spans LIMIT 0")
            cursor.execute("DROP TABLE spans")
            cursor.execute("ALTER TABLE spans_plain RENAME TO spans")
        cursor.register("template_rows", rows)
        cursor.execute("INSERT INTO spans SELECT t.* REPLACE (md5(t.trace_id || copy) AS trace_id) "
                       "FROM template_rows AS t, range($copies) AS r(copy)",
                       {"copies": size // rows.num_rows})
    return store


def one_batch(store: Store, rows: pa.Table, mark: str, keyed: bool) -> float:
    """Median seconds of a live unit of work: attach, insert a new batch, commit, let go (with
    INSERT OR IGNORE, as the live writer does, where there is a key to ignore by)."""
    seconds = []
    for n in range(WRITES):
        fresh_ids = rows.set_column(0, "trace_id", pa.array(
            [f"{mark}{n:02d}{trace[4:]}" for trace in rows.column("trace_id").to_pylist()]))
        started = time.perf_counter()
        with store.writing() as cursor:
            inserted, _ = log.insert_rows(cursor, Table.SPANS, fresh_ids, new_keys=not keyed)
        seconds.append(time.perf_counter() - started)
        assert inserted == rows.num_rows
    return statistics.median(seconds)


def test_one_batch_as_the_store_grows(estate: Path, work: Path) -> None:
    rows = template(estate, work)
    lines = []
    for size in SIZES:
        keyed = one_batch(store_of(work / "growth-keyed.duckdb", rows, size, True), rows, "ab",
                          True)
        plain = one_batch(store_of(work / "growth-plain.duckdb", rows, size, False), rows, "cd",
                          False)
        lines += [(f"{size:>9,} spans stored: table without a key (baseline)", plain, ""),
                  (f"{size:>9,} spans stored: backroom's spans table", keyed,
                   f"{plain / keyed:.2f}x of the baseline")]
    show(f"one live batch of {BATCH:,} spans (attach, insert, commit, let go), median of "
         f"{WRITES}", lines)
