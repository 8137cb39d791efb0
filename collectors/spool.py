"""Parquet spool segments: batches a collector could not store while another process held the lock.

A segment is one batch of canonical rows (or rejects) written to a temporary name and renamed
into place, so a reader never sees half a file (SCALE.md 2.3 and 5). Only a writer that holds
the store reads the spool: it imports each segment inside its own transaction and records the
segment's name in `ingested_segments` there, so a crash between the commit and the file's
deletion cannot import it twice.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from queries import extensions, rollup
from queries import ingest as log
from queries.ingest import IngestTotals, Reject, Table

DEFAULT_LIMIT_BYTES = 1024**3  # past this the spool refuses more, and the receiver answers 503
REJECTS = "rejects"
_PREFIX, _SUFFIX = "seg-", ".parquet"
_META = b"backroom"
_IMPORT_ROWS = 250_000  # spooled rows imported under one ingest_log row, at most (about)
_SIZE_TTL = 1.0  # seconds a measured spool size is trusted before the folder is measured again


class SpoolFull(Exception):
    """The spool holds its limit already; the batch stays where it came from."""


@dataclass(frozen=True)
class Imported:
    """What importing the spool added: rows per table, rejects and the segments' names."""

    rows: dict[str, int]
    rejects: int
    names: list[str]


def folder_for(store_path: Path) -> Path:
    """The spool folder of one store: under the app's home, one folder per store file."""
    key = hashlib.sha256(str(store_path.resolve()).encode()).hexdigest()[:16]
    return extensions.home() / "spool" / key


class Spool:
    """The spool folder of one store, bounded in bytes."""

    def __init__(self, folder: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.folder, self.limit_bytes = folder, limit_bytes
        self._size_lock = threading.Lock()
        self._size, self._size_at, self._size_ttl = 0, -_SIZE_TTL, _SIZE_TTL

    def segments(self) -> list[Path]:
        """Finished segments, oldest first (names start with a nanosecond clock)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir()
                      if p.name.startswith(_PREFIX) and p.name.endswith(_SUFFIX))

    def size(self) -> int:
        total = 0
        for path in self.segments():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                continue  # another writer imported and removed it meanwhile
        return total

    @staticmethod
    def new_name(table: str) -> str:
        """A fresh segment name; names sort by the nanosecond clock."""
        return f"{_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:12]}-{table}{_SUFFIX}"

    def write(
        self, table: str, rows: pa.Table, source: str, fmt: str, *, name: str | None = None,
        compression: str = "zstd",
    ) -> Path:
        """Write one batch as a segment (temp name, fsync, rename); SpoolFull past the limit."""
        if self._recent_size() >= self.limit_bytes:
            raise SpoolFull(f"spool {self.folder} holds {self.limit_bytes:,} bytes already")
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {b"table": table.encode(), b"source": source.encode(), b"format": fmt.encode()}
        tagged = rows.replace_schema_metadata({**(rows.schema.metadata or {}), **{
            _META + b"." + key: value for key, value in meta.items()}})
        name = name or self.new_name(table)
        temp = self.folder / f".{name}.tmp"
        pq.write_table(tagged, temp, compression=compression)
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())  # the rename must not publish a segment the disk lacks
            written = os.fstat(handle.fileno()).st_size
        os.rename(temp, self.folder / name)
        with self._size_lock:
            self._size += written
        return self.folder / name

    def _recent_size(self) -> int:
        """The spool's size, measured at most once a second: a journal writes many segments a second.

        Measuring a folder of many thousand segments takes a while, so it is then measured less
        often (spending at most a fiftieth of the time on it), counting this process's writes between.
        """
        with self._size_lock:
            if time.monotonic() - self._size_at < self._size_ttl:
                return self._size
        started = time.monotonic()
        size = self.size()
        with self._size_lock:
            self._size, self._size_at = size, time.monotonic()
            self._size_ttl = max(_SIZE_TTL, 50 * (self._size_at - started))
        return size

    def import_into(
        self, cursor: duckdb.DuckDBPyConnection, skip: Collection[str] = (),
    ) -> Imported:
        """Import every segment not imported before (nor in `skip`), inside the caller's transaction.

        Segments of one table, source and format go in together, one ingest_log row per
        `_IMPORT_ROWS` rows or so: a receiver spools a small segment for every request.
        """
        groups: dict[tuple[str, str, str, tuple[str, ...]], list[Segment]] = {}
        for path in self.segments():
            if path.name in skip:
                continue  # a live source of this process imports its own segments
            try:
                footer = pq.ParquetFile(path)
            except FileNotFoundError:
                continue  # another writer imported and removed it meanwhile
            table, source, fmt = _meta(footer.schema_arrow)
            # Same columns in a group: reading files of differing columns together costs a pass.
            key = (table, source, fmt, tuple(footer.schema_arrow.names))
            groups.setdefault(key, []).append(Segment(path, table, footer.metadata.num_rows))
        rows = {table.value: 0 for table in Table}
        rejects, names = 0, []
        for (table, source, fmt, _), segments in groups.items():
            for chunk in _chunks(segments, _IMPORT_ROWS):
                totals, taken = import_batch(cursor, chunk, f"{source} (spooled)", fmt)
                for name, count in totals.rows.items():
                    rows[name] += count
                rejects += totals.rejects
                names += taken
        return Imported(rows, rejects, names)

    def remove(self, names: list[str]) -> None:
        """Delete segments whose import was committed."""
        for name in names:
            try:
                (self.folder / name).unlink()
            except FileNotFoundError:
                pass


class Segment(NamedTuple):
    """A spool segment a live source wrote itself: where, which table, how many rows."""

    path: Path
    table: str
    rows: int


def import_batch(
    cursor: duckdb.DuckDBPyConnection, segments: Sequence[Segment], source: str, fmt: str,
    forget: Sequence[str] = (),
) -> tuple[IngestTotals, list[str]]:
    """Import one source's segments (one schema) together: one ingest_log row, one insert per table.

    Returns what was added and the names of the segments imported now (not those another
    writer had imported already). `forget` names segments imported and deleted before: their
    ingested_segments rows only guarded the moment between that commit and the deletion.
    """
    if forget:
        cursor.execute("DELETE FROM ingested_segments WHERE name IN (SELECT unnest($names))",
                       {"names": list(forget)})
    done = {row[0] for row in cursor.execute(
        "SELECT name FROM ingested_segments WHERE name IN (SELECT unnest($names))",
        {"names": [segment.path.name for segment in segments]}).fetchall()}
    # Imported by another writer that had not deleted them yet, or deleted after its commit.
    segments = [s for s in segments if s.path.name not in done and s.path.exists()]
    totals = IngestTotals()
    if not segments:
        return totals, []
    ingest_id = log.start(cursor, source, fmt)
    for table in sorted({segment.table for segment in segments}):
        part = [segment for segment in segments if segment.table == table]
        if table == REJECTS:
            rejects = pa.concat_tables([pq.read_table(segment.path) for segment in part])
            totals.rejects += log.record_rejects(cursor, ingest_id, _rejects_of(rejects))
            continue
        count = _insert_files(cursor, Table(table), [str(segment.path) for segment in part], ingest_id)
        totals.rows[table] += count
        totals.skipped_duplicates += sum(segment.rows for segment in part) - count
        if table == Table.EVENTS.value and count:
            rollup.refresh_orders(cursor, ingest_id)
    log.finish(cursor, ingest_id, totals, None, None)
    names = [segment.path.name for segment in segments]
    cursor.execute("INSERT INTO ingested_segments (name, imported_at) SELECT unnest($names), now()",
                   {"names": names})
    return totals, names


def _chunks(segments: list[Segment], rows: int) -> Iterator[list[Segment]]:
    chunk: list[Segment] = []
    held = 0
    for segment in segments:
        if chunk and held + segment.rows > rows:
            yield chunk
            chunk, held = [], 0
        chunk.append(segment)
        held += segment.rows
    if chunk:
        yield chunk


def _insert_files(
    cursor: duckdb.DuckDBPyConnection, table: Table, files: list[str], ingest_id: int,
) -> int:
    """Rows inserted straight from Parquet segments: DuckDB reads them, no Python per row or GIL."""
    rows = cursor.read_parquet(files)  # one schema: the caller groups segments by their columns
    stamp = f"{int(ingest_id)}::BIGINT AS ingest_id"
    rows = rows.project(f"* REPLACE ({stamp})" if "ingest_id" in rows.columns else f"*, {stamp}")
    cursor.register("incoming_segments", rows)
    try:
        return log.insert_relation(cursor, table, "incoming_segments")
    finally:
        cursor.unregister("incoming_segments")


def _meta(schema: pa.Schema) -> tuple[str, str, str]:
    meta = schema.metadata or {}
    return tuple(meta.get(_META + b"." + key, b"").decode()  # type: ignore[return-value]
                 for key in (b"table", b"source", b"format"))


def rejects_table(rejects: list[Reject]) -> pa.Table:
    """Rejects as an Arrow table, for spooling them like rows."""
    return pa.table({
        "source": pa.array([r.source for r in rejects], pa.string()),
        "line": pa.array([r.line for r in rejects], pa.int64()),
        "reason": pa.array([r.reason for r in rejects], pa.string()),
        "excerpt": pa.array([r.excerpt for r in rejects], pa.string()),
        "byte_offset": pa.array([r.byte_offset for r in rejects], pa.int64()),
    })


def _rejects_of(segment: pa.Table) -> Iterator[Reject]:
    for item in segment.to_pylist():
        yield Reject(item["source"], item["line"], item["reason"], item["excerpt"] or "",
                     item["byte_offset"])
