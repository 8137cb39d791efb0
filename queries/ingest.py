"""The write side of ingest: the ingest log, idempotent bulk inserts of canonical rows, and rejects."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import orjson
import pyarrow as pa

from queries import rollup


class Table(enum.StrEnum):
    """The canonical tables a collector may write."""

    SPANS = "spans"
    EVENTS = "events"
    DLQ_MESSAGES = "dlq_messages"


@dataclass(frozen=True)
class Reject:
    """One input record that could not be used, and why."""

    source: str
    line: int | None
    reason: str
    excerpt: str = ""
    byte_offset: int | None = None


@dataclass
class IngestTotals:
    """What one ingest unit wrote: rows per table, duplicates skipped, rejects."""

    rows: dict[str, int] = field(default_factory=lambda: {t.value: 0 for t in Table})
    skipped_duplicates: int = 0
    rejects: int = 0

    def add(self, other: IngestTotals) -> None:
        for table, count in other.rows.items():
            self.rows[table] = self.rows.get(table, 0) + count
        self.skipped_duplicates += other.skipped_duplicates
        self.rejects += other.rejects


def start(
    cursor: duckdb.DuckDBPyConnection,
    source: str,
    fmt: str,
    identity: str | None = None,
    offset_from: int = 0,
) -> int:
    """Open an ingest_log row for one source and return its id."""
    row = cursor.execute(
        "INSERT INTO ingest_log (ingest_id, source, format, identity, offset_from, started_at) "
        "VALUES (nextval('ingest_seq'), $source, $format, $identity, $offset_from, $now) "
        "RETURNING ingest_id",
        {"source": source, "format": fmt, "identity": identity, "offset_from": offset_from,
         "now": datetime.now(UTC)},
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish(
    cursor: duckdb.DuckDBPyConnection,
    ingest_id: int,
    totals: IngestTotals,
    offset_to: int | None,
    lines: int | None,
) -> None:
    """Record the final counts of an ingest and mark it finished."""
    checkpoint(cursor, ingest_id, totals, offset_to, lines)
    cursor.execute("UPDATE ingest_log SET finished_at = $now WHERE ingest_id = $id",
                   {"now": datetime.now(UTC), "id": ingest_id})


def already_ingested(cursor: duckdb.DuckDBPyConnection, identity: str) -> bool:
    """Whether a finished ingest of exactly this content is on record."""
    row = cursor.execute(
        "SELECT count(*) FROM ingest_log WHERE identity = $identity AND finished_at IS NOT NULL",
        {"identity": identity},
    ).fetchone()
    return bool(row and row[0])


def insert_rows(
    cursor: duckdb.DuckDBPyConnection, table: Table, rows: pa.Table, *, new_keys: bool = False,
) -> tuple[int, int]:
    """Insert canonical rows by column name, skipping rows whose key is already stored.

    Returns (inserted, skipped as duplicates). With `new_keys` the caller expects no key to be
    stored or given twice: the rows go in with a plain INSERT (a third of the CPU of skipping
    duplicates, which DuckDB does row by row), and a key that is raises duckdb.ConstraintException,
    which leaves the transaction aborted: the caller rolls back and writes again without it.
    Spans, which have no key, always skip the spans stored already (`new_keys` changes nothing).
    """
    if rows.num_rows == 0:
        return 0, 0
    cursor.register("incoming_rows", rows)
    try:
        inserted = insert_relation(cursor, table, "incoming_rows", new_keys=new_keys)
    finally:
        cursor.unregister("incoming_rows")
    return inserted, rows.num_rows - inserted


def insert_relation(
    cursor: duckdb.DuckDBPyConnection, table: Table, relation: str, *, new_keys: bool = False,
) -> int:
    """Insert the rows of a registered relation by column name, keys already stored skipped
    (or, with `new_keys`, refused: see insert_rows).

    Every writer of canonical rows comes through here, so that what follows an insert (a batch of
    spans notes its traces' time windows) happens in the same unit of work. Returns rows inserted.
    """
    if Table(table) is Table.SPANS:
        inserted = _insert_spans(cursor, relation)
        rollup.note_trace_windows(cursor, relation)
        return inserted
    verb = "INSERT" if new_keys else "INSERT OR IGNORE"
    result = cursor.execute(
        f"{verb} INTO {Table(table).value} BY NAME SELECT * FROM {relation}").fetchone()
    return int(result[0]) if result else 0


# `spans` has no key (007_spans_unkeyed.sql): a span goes in unless its (trace_id, span_id) is
# stored already, found by one hash anti join of the batch against the table, and of a batch's
# rows that share one only the first (in the relation's order: DuckDB numbers the rows of
# `OVER ()` as it reads them, on one thread) goes in. `events` keeps its key: without it the
# CloudEvents baseline, which inserts into the same table, gains more than backroom does, and the
# fast path's anti join and duplicate check cost more than the key saves (README, Performance).
_NEW_SPANS = """
INSERT INTO spans BY NAME
SELECT * FROM {rows} AS r
WHERE NOT EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = r.trace_id AND s.span_id = r.span_id)
"""
_FIRST_OF_EACH = """(
    SELECT * EXCLUDE (batch_row, nth)
    FROM (SELECT *, row_number() OVER (PARTITION BY trace_id, span_id ORDER BY batch_row) AS nth
          FROM (SELECT *, row_number() OVER () AS batch_row FROM {relation}))
    WHERE nth = 1
)"""


def _insert_spans(cursor: duckdb.DuckDBPyConnection, relation: str) -> int:
    if not relation.isidentifier():
        raise ValueError(f"not a relation name: {relation!r}")
    given_twice = cursor.execute(
        f"SELECT count(*) > count(DISTINCT (trace_id, span_id)) FROM {relation}").fetchone()
    rows = _FIRST_OF_EACH.format(relation=relation) if given_twice and given_twice[0] else relation
    result = cursor.execute(_NEW_SPANS.format(rows=rows)).fetchone()
    return int(result[0]) if result else 0


def record_rejects(
    cursor: duckdb.DuckDBPyConnection, ingest_id: int | None, rejects: Iterable[Reject]
) -> int:
    now = datetime.now(UTC)
    batch = [r for r in rejects]
    if not batch:
        return 0
    table = pa.table({
        "ingest_id": pa.array([ingest_id] * len(batch), pa.int64()),
        "source": [r.source for r in batch],
        "line": pa.array([r.line for r in batch], pa.int64()),
        "byte_offset": pa.array([r.byte_offset for r in batch], pa.int64()),
        "reason": [r.reason for r in batch],
        "excerpt": [r.excerpt for r in batch],
        "rejected_at": pa.array([now] * len(batch), pa.timestamp("us", tz="UTC")),
    })
    cursor.register("incoming_rejects", table)
    try:
        cursor.execute("INSERT INTO rejects BY NAME SELECT * FROM incoming_rejects")
    finally:
        cursor.unregister("incoming_rejects")
    return len(batch)


def checkpoint(
    cursor: duckdb.DuckDBPyConnection,
    ingest_id: int,
    totals: IngestTotals,
    offset_to: int | None,
    lines: int | None,
) -> None:
    """Record how far an unfinished ingest got; committed with its rows so a rerun resumes there."""
    cursor.execute(
        "UPDATE ingest_log SET offset_to = $offset_to, lines = $lines, rows_written = $rows, "
        "rejects = $rejects, skipped_duplicates = $dups WHERE ingest_id = $id",
        {"offset_to": offset_to, "lines": lines, "rows": orjson.dumps(totals.rows).decode(),
         "rejects": totals.rejects, "dups": totals.skipped_duplicates, "id": ingest_id},
    )


@dataclass(frozen=True)
class PriorIngest:
    """The latest ingest on record of one content identity and format."""

    ingest_id: int
    finished: bool
    offset_to: int | None
    lines: int | None
    totals: IngestTotals

    @property
    def records(self) -> int:
        """Records it read: rows written, duplicates skipped and rejects."""
        return sum(self.totals.rows.values()) + self.totals.skipped_duplicates + self.totals.rejects


def previous_ingest(
    cursor: duckdb.DuckDBPyConnection, identity: str, fmt: str
) -> PriorIngest | None:
    """The latest finished ingest of this content and format, else the latest unfinished one."""
    row = cursor.execute(
        "SELECT ingest_id, finished_at IS NOT NULL, offset_to, lines, rows_written, rejects, "
        "skipped_duplicates FROM ingest_log WHERE identity = $identity AND format = $format "
        "ORDER BY finished_at IS NOT NULL DESC, ingest_id DESC LIMIT 1",
        {"identity": identity, "format": fmt},
    ).fetchone()
    if row is None:
        return None
    ingest_id, finished, offset_to, lines, rows_written, rejects, skipped = row
    written = orjson.loads(rows_written) if rows_written else {}
    totals = IngestTotals(skipped_duplicates=int(skipped), rejects=int(rejects))
    totals.rows.update({str(table): int(count) for table, count in written.items()})
    return PriorIngest(int(ingest_id), bool(finished), offset_to, lines, totals)
