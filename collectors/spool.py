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
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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

    def write(self, table: str, rows: pa.Table, source: str, fmt: str) -> Path:
        """Write one batch as a segment (temp name, fsync, rename); SpoolFull past the limit."""
        if self.size() >= self.limit_bytes:
            raise SpoolFull(f"spool {self.folder} holds {self.limit_bytes:,} bytes already")
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {b"table": table.encode(), b"source": source.encode(), b"format": fmt.encode()}
        tagged = rows.replace_schema_metadata({**(rows.schema.metadata or {}), **{
            _META + b"." + key: value for key, value in meta.items()}})
        name = f"{_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:12]}-{table}{_SUFFIX}"
        temp = self.folder / f".{name}.tmp"
        pq.write_table(tagged, temp, compression="zstd")
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())  # the rename must not publish a segment the disk lacks
        os.rename(temp, self.folder / name)
        return self.folder / name

    def import_into(self, cursor: duckdb.DuckDBPyConnection) -> Imported:
        """Import every segment not imported before, inside the caller's transaction."""
        rows = {table.value: 0 for table in Table}
        rejects, names = 0, []
        for path in self.segments():
            if _already_imported(cursor, path.name):
                continue  # committed by an earlier writer that crashed before deleting it
            try:
                segment = pq.read_table(path)
            except FileNotFoundError:
                continue
            table, source, fmt = _meta(segment)
            added = _import_segment(cursor, segment, table, f"{source} (spooled)", fmt)
            if table == REJECTS:
                rejects += added
            else:
                rows[table] += added
            cursor.execute("INSERT INTO ingested_segments (name, imported_at) VALUES ($n, now())",
                           {"n": path.name})
            names.append(path.name)
        return Imported(rows, rejects, names)

    def remove(self, names: list[str]) -> None:
        """Delete segments whose import was committed."""
        for name in names:
            try:
                (self.folder / name).unlink()
            except FileNotFoundError:
                pass


def _already_imported(cursor: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = cursor.execute("SELECT count(*) FROM ingested_segments WHERE name = $n",
                         {"n": name}).fetchone()
    return bool(row and row[0])


def _meta(segment: pa.Table) -> tuple[str, str, str]:
    meta = segment.schema.metadata or {}
    return tuple(meta.get(_META + b"." + key, b"").decode()  # type: ignore[return-value]
                 for key in (b"table", b"source", b"format"))


def _import_segment(
    cursor: duckdb.DuckDBPyConnection, segment: pa.Table, table: str, source: str, fmt: str,
) -> int:
    """Insert one segment under its own ingest_log row; returns rows (or rejects) added."""
    ingest_id = log.start(cursor, source, fmt)
    totals = IngestTotals()
    if table == REJECTS:
        count = log.record_rejects(cursor, ingest_id, _rejects_of(segment))
        totals.rejects = count
    else:
        ids = pa.array([ingest_id] * segment.num_rows, pa.int64())
        segment = segment.set_column(segment.schema.get_field_index("ingest_id"), "ingest_id", ids)
        count, totals.skipped_duplicates = log.insert_rows(cursor, Table(table), segment)
        totals.rows[table] = count
        if table == Table.EVENTS.value and count:
            rollup.refresh_orders(cursor, ingest_id)
    log.finish(cursor, ingest_id, totals, None, None)
    return count


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
