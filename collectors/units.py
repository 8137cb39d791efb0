"""Units of work and batches of one file's ingest: committed every few batches, written in order."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Self

import duckdb

from queries.ingest import Reject, Table
from queries.store import Store


class Units:
    """Units of work for one file: one transaction, committed and renewed every few batches."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._context: AbstractContextManager[duckdb.DuckDBPyConnection] | None = None
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._batches = 0

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

    def batch_done(self, commit_every: int) -> None:
        """Count a written batch; every `commit_every` batches commit and release the store."""
        self._batches += 1
        if self._batches % commit_every == 0:
            self._close(None, None, None)

    def _close(self, *exc_info: Any) -> None:
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


class BatchWriter:
    """Writes a file's batches with `write` on one thread, in order, one at a time, while the
    caller parses (DuckDB lets go of the GIL while it inserts and commits).

    Only the thread writes to the store and to what `write` counts while it runs; the caller
    waits for a batch in flight before it hands over the next and before it leaves (an error of
    the thread is raised there), so that nothing the caller reads afterwards is changing.
    """

    def __init__(self, write: Callable[[Batch], None]) -> None:
        self.write = write
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="backroom-ingest")
        self.in_flight: Future[None] | None = None

    def submit(self, batch: Batch) -> None:
        self.wait()
        context = contextvars.copy_context()  # the batch's span belongs to the file's
        self.in_flight = self.pool.submit(context.run, self.write, batch)

    def wait(self) -> None:
        in_flight, self.in_flight = self.in_flight, None
        if in_flight is not None:
            in_flight.result()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.in_flight is not None:
                if exc_info[0] is None:
                    self.wait()
                else:  # the caller's own error is the one to raise; the write just ends first
                    wait_for([self.in_flight])
        finally:
            self.pool.shutdown(wait=True)
