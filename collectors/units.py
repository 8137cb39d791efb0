"""Units of work and batches of one file's ingest: committed every few batches, written in order."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

import duckdb

from collectors.detect import Failed
from collectors.rows import Parser, Where
from collectors.text import excerpt
from queries.ingest import Reject, Table
from queries.store import Store

T = TypeVar("T")


# DuckDB's rows per row group (its default `row_group_size`, which backroom keeps).
ROW_GROUP_ROWS = 122_880


def whole_groups(rows: int) -> bool:
    """Whether a unit of work that inserted `rows` leaves nothing for later checkpoints to merge.

    DuckDB writes a large unit's rows straight to the file as row groups, the last one partial.
    Every release of the store checkpoints, and a checkpoint merges neighbouring row groups that
    fit in fewer, decompressing and compressing them again: the partial groups of two units in a
    row that hold no more than one group between them, and the whole groups beside them. Units of
    four 61.5k-row batches (a few hundred rows past two groups) had their rows written twice: the
    writes of 900k spans took 6.7-7.2 s of DuckDB's time, against 4.5-4.9 s in units that end
    with no partial group or one more than half full. A unit smaller than a group is added to the
    table's last group instead, so it may end anywhere.
    """
    partial = rows % ROW_GROUP_ROWS
    return rows < ROW_GROUP_ROWS or partial == 0 or partial > ROW_GROUP_ROWS // 2


class Units:
    """Units of work for one file: one transaction, committed and renewed every few batches."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._context: AbstractContextManager[duckdb.DuckDBPyConnection] | None = None
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._batches = 0  # written in the open unit
        self._rows = 0  # inserted in the open unit

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """The open unit's cursor, attaching the store for a new unit when none is open."""
        if self._cursor is None:
            self._context = self.store.writing()
            self._cursor = self._context.__enter__()
        return self._cursor

    def commit(self) -> None:
        """Commit what the open unit holds and go on in a new one, keeping the attachment."""
        if self._cursor is not None:
            self._cursor.execute("COMMIT")
            self._cursor.execute("BEGIN TRANSACTION")

    def release(self) -> None:
        """Commit what the open unit holds and let go of the store (the next unit attaches it)."""
        self._close(None, None, None)

    def rollback(self) -> None:
        """Undo what the open unit holds and go on in a new one, keeping the attachment."""
        if self._cursor is not None:
            self._cursor.execute("ROLLBACK")
            self._cursor.execute("BEGIN TRANSACTION")
        self._rows = 0

    def inserted(self, rows: int) -> None:
        """Count rows the open unit inserted (they decide where it may end: `batch_done`)."""
        self._rows += rows

    def batch_done(self, commit_every: int) -> bool:
        """Count a written batch; after `commit_every` batches, at the first one that leaves the
        unit's last row group empty or more than half full (`whole_groups`), or after twice as
        many batches, commit and release the store (and say so)."""
        self._batches += 1
        if self._batches >= commit_every and (
                whole_groups(self._rows) or self._batches >= 2 * commit_every):
            self.release()
            return True
        return False

    def _close(self, *exc_info: Any) -> None:
        self._batches = self._rows = 0
        context, self._context, self._cursor = self._context, None, None
        if context is not None:
            context.__exit__(*exc_info)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close(*exc_info)


@dataclass
class Batch:
    """Rows and rejects gathered from a file, up to `offset` (after `lines` lines)."""

    table: Table | None
    rows: Any  # pa.Table, or None when only rejects were gathered
    rejects: list[Reject]
    offset: int
    lines: int | None
    records: int = 0  # records read for it: rows + duplicates among them + rejects
    final: bool = False  # the last of the file (or of a piece of it: collectors/parallel.py)
    start: int = 0  # where in the file its input began


class Lines(Protocol):
    """Records with where each came from, and how far they got (detect.Records and the like)."""

    offset: int
    line: int

    def __iter__(self) -> Iterator[tuple[Any, Where]]: ...


def gather(
    parser: Parser, records: Lines, source: str, ingest_id: int | None, batch_rows: int,
    batch_bytes: int, rejects: list[Reject] | None = None,
) -> Iterator[Batch]:
    """Parse every record, giving a batch each time `batch_rows` rows or rejects or `batch_bytes`
    of input are gathered, and what is left at the end (perhaps nothing) with final set.

    `rejects` are ones found before, which go in the first batch.
    """
    pending = list(rejects or ())
    held = count = 0
    start = records.offset
    buffer = parser.buffer
    for value, where in records:
        held += len(where.raw)
        if isinstance(value, Failed):
            pending.append(Reject(source, where.line, value.reason, excerpt(where.raw.rstrip()),
                                  where.offset))
            count += 1
        else:
            before = len(buffer)
            rejected = parser.feed(value, where)
            pending += rejected
            count += len(buffer) - before + len(rejected)
        if len(buffer) >= batch_rows or len(pending) >= batch_rows or held >= batch_bytes:
            yield Batch(parser.table, buffer.take(ingest_id) if len(buffer) else None, pending,
                        records.offset, records.line, records=count, start=start)
            pending, held, count, start = [], 0, 0, records.offset
    yield Batch(parser.table, buffer.take(ingest_id) if len(buffer) else None, pending,
                records.offset, records.line, records=count, final=True, start=start)


PROGRESS_EVERY = 0.25  # seconds between reports of a long statement's progress


def watched(
    cursor: duckdb.DuckDBPyConnection, work: Callable[[], T],
    progress: Callable[[float], None], every: float | None = None,
) -> T:
    """Run `work` (statements on `cursor`) on a thread; report its progress and take Ctrl-C here.

    A single statement can hold a whole file (the CloudEvents fast path): the caller's thread
    waits, calls `progress` with DuckDB's estimate of how far the running statement is (0-100)
    every `every` seconds (PROGRESS_EVERY), and when it is interrupted (Ctrl-C, or `progress`
    raising) it interrupts the statement and raises once `work` has stopped, so the unit is
    rolled back at once instead of after the statement.
    """
    every = PROGRESS_EVERY if every is None else every
    cursor.execute("SET enable_progress_bar = true")  # DuckDB keeps no estimate without it
    cursor.execute("SET enable_progress_bar_print = false")
    cursor.execute("SET progress_bar_time = 0")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 (handed to the caller's thread below)
            outcome["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,),
                              name="backroom-statement", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(every)
            done = cursor.query_progress()
            if thread.is_alive() and done >= 0:
                progress(done)
    except BaseException:
        cursor.interrupt()
        thread.join()
        raise
    # Off again for what the unit runs next (the Python path, when the fast path gave the file
    # up); a statement that failed may have left the transaction unable to take even this.
    with contextlib.suppress(duckdb.Error):
        cursor.execute("SET enable_progress_bar = false")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class BatchWriter:
    """Writes a file's batches with `write` on one thread, in order, while the caller parses
    (DuckDB lets go of the GIL while it inserts and commits).

    Up to `depth` batches wait or run at once, so that a slow write (one that ends a unit of work
    commits it) does not stall the parser while the writes around it are quick. Only the thread
    writes to the store and to what `write` counts while batches are in flight; the caller waits
    for all of them before it leaves (an error of the thread is raised there, or at the next
    hand-over), so that nothing it reads afterwards is changing. After a failed write the batches
    behind it are not written.
    """

    def __init__(self, write: Callable[[Batch], None], depth: int = 2) -> None:
        self.write = write
        self.depth = depth
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="backroom-ingest")
        self.in_flight: deque[Future[None]] = deque()
        self.failed = False  # set on the thread by a failed write; read there by the next

    def submit(self, batch: Batch) -> None:
        while len(self.in_flight) >= self.depth:
            self.in_flight.popleft().result()
        context = contextvars.copy_context()  # the batch's span belongs to the file's
        self.in_flight.append(self.pool.submit(context.run, self._run, batch))

    def _run(self, batch: Batch) -> None:
        if self.failed:
            raise _Abandoned()  # an earlier write failed: its error is the one the caller sees
        try:
            self.write(batch)
        except BaseException:
            self.failed = True
            raise

    def wait(self) -> None:
        """Until every batch handed over is written; the first write's error is raised."""
        while self.in_flight:
            self.in_flight.popleft().result()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                self.wait()
            else:  # the caller's own error is the one to raise; the writes just end first
                wait_for(list(self.in_flight))
                self.in_flight.clear()
        finally:
            self.pool.shutdown(wait=True)


class _Abandoned(RuntimeError):
    """A batch not written because one before it failed (never raised to the caller)."""
