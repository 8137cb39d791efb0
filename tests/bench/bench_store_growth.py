"""One live batch into stores of growing size: what looking for spans stored already costs.

A live collector (`collect`, the OTLP/HTTP receiver) writes each batch in a unit of work of its
own and lets go of the store after it, so that a console can read. `spans` has no key
(007_spans_unkeyed.sql): backroom skips the spans stored already with one hash anti join of the
batch against the table. The baseline, measured in the same run on the same store, is a plain
INSERT of the same batch, which looks for nothing. (With the primary key `spans` had before, the
batch took 0.24, 0.28 and 0.45 s at these sizes against 0.13, 0.19 and 0.23 s: README.)
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


def store_of(path: Path, rows: pa.Table, size: int) -> Store:
    """A store whose `spans` holds `size` spans: copies of `rows` under trace ids of their own."""
    store = Store(fresh(path))
    with store.writing() as cursor:
        cursor.register("template_rows", rows)
        cursor.execute("INSERT INTO spans SELECT t.* REPLACE (md5(t.trace_id || copy) AS trace_id) "
                       "FROM template_rows AS t, range($copies) AS r(copy)",
                       {"copies": size // rows.num_rows})
    return store


def one_batch(store: Store, rows: pa.Table, mark: str, looking: bool) -> float:
    """Median seconds of a live unit of work: attach, insert a new batch, commit, let go; as
    backroom writes spans (`looking` for those stored already), or with a plain INSERT."""
    seconds = []
    for n in range(WRITES):
        fresh_ids = rows.set_column(0, "trace_id", pa.array(
            [f"{mark}{n:02d}{trace[4:]}" for trace in rows.column("trace_id").to_pylist()]))
        started = time.perf_counter()
        with store.writing() as cursor:
            if looking:
                inserted, _ = log.insert_rows(cursor, Table.SPANS, fresh_ids)
            else:
                cursor.register("plain_rows", fresh_ids)
                result = cursor.execute(
                    "INSERT INTO spans BY NAME SELECT * FROM plain_rows").fetchone()
                inserted = result[0] if result else 0
        seconds.append(time.perf_counter() - started)
        assert inserted == rows.num_rows
    return statistics.median(seconds)


def test_one_batch_as_the_store_grows(estate: Path, work: Path) -> None:
    rows = template(estate, work)
    lines = []
    for size in SIZES:
        store = store_of(work / "growth.duckdb", rows, size)
        plain = one_batch(store, rows, "cd", False)
        ours = one_batch(store, rows, "ab", True)
        lines += [(f"{size:>9,} spans stored: plain INSERT (baseline)", plain, ""),
                  (f"{size:>9,} spans stored: backroom, skipping spans stored", ours,
                   f"{plain / ours:.2f}x of the baseline")]
    show(f"one live batch of {BATCH:,} spans (attach, insert, commit, let go), median of "
         f"{WRITES}", lines)
