"""The shared batch writer of live collection: one short unit of work per batch, else the spool."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from collectors import spool as spooling
from collectors.reports import plural
from collectors.rows import RowBuffer
from queries import ingest as log
from queries import rollup, search_index
from queries.errors import BackroomError, StoreBusy
from queries.ingest import IngestTotals, Reject, Table
from queries.policy import Policy
from queries.store import Store

DEFAULT_BUSY_TIMEOUT = 2.0  # how long a batch waits for another process's lock before spooling
# Live units of work run beside the sources they serve (and a console) on small machines. On
# the 2-core project machine, importing 100k-span batches with a second DuckDB thread took
# 14 instead of 9 us of CPU per span and more wall time too, so a collecting process uses one.
DUCKDB_THREADS = 1
# A follower that has caught up waits this many times as long as its last batches held the store
# before it writes again, so that a console or `ingest` sharing the store gets it at least four
# fifths of the time. A batch's cost grows with the store (the events key is merged and written
# out at every release: 5,000 events into 4M took 1.2 s, 0.8 s of it the checkpoint), and a
# follower that wrote again 0.2 s after each batch held a 4M-event store 85% of the time.
BACKOFF = 4.0
_log = logging.getLogger("backroom.collect")


@dataclass(frozen=True)
class Checkpoint:
    """How far a followed file was read: committed with the rows read up to there."""

    identity: str
    offset_from: int
    offset_to: int
    lines: int


@dataclass
class Batch:
    """Rows of one table from one source, with the rejects met while reading them."""

    source: str
    fmt: str
    table: Table
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    checkpoint: Checkpoint | None = None

    def __len__(self) -> int:
        return len(self.rows) + len(self.rejects)


@dataclass
class SourceStats:
    """What one live source did: rows stored per table, rejects, duplicates, spooled batches."""

    name: str
    kind: str
    rows: dict[str, int] = field(default_factory=lambda: {t.value: 0 for t in Table})
    rejects: int = 0
    skipped_duplicates: int = 0
    spooled_rows: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.name, "kind": self.kind, "rows": dict(self.rows),
                "rejects": self.rejects, "skipped_duplicates": self.skipped_duplicates,
                "spooled_rows": self.spooled_rows, "error": self.error}


class StoredNothing(Exception):
    """The store stayed busy and the batch may not (or could not) be spooled."""


class LiveWriter:
    """Writes batches for every live source of one process, one at a time (one transaction each)."""

    def __init__(
        self, store: Store, spool: spooling.Spool | None = None, *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._clock = clock
        # Seconds the batches stored by `write` have held the store, from attach to release: a
        # follower paces itself by what its writes cost (`Follower.run`).
        self.held = 0.0
        store.limit_threads(DUCKDB_THREADS)
        self.spool = spool or spooling.Spool(spooling.folder_for(store.path))
        self.busy_timeout = busy_timeout
        # Transactions of one process share the attachment and would conflict on the same keys.
        self._lock = threading.Lock()
        self.imported = spooling.Imported({t.value: 0 for t in Table}, 0, [])
        self._claims_lock = threading.Lock()
        self._claimed: set[str] = set()  # journal segments their own source imports
        self._forget: list[str] = []  # journal segments imported and deleted since the last batch

    def write(self, batch: Batch, stats: SourceStats, *, may_spool: bool) -> str:
        """Store the batch ('stored'), else spool it ('spooled'); StoredNothing when neither."""
        with self._lock:
            try:
                totals = self._store(batch)
            except StoreBusy as busy:
                if not may_spool:
                    raise StoredNothing(str(busy)) from None
                return self._spool(batch, stats, busy)
        stats.rows[batch.table.value] += totals.rows[batch.table.value]
        stats.rejects += totals.rejects
        stats.skipped_duplicates += totals.skipped_duplicates
        if batch.table is Table.DLQ_MESSAGES and totals.rows[batch.table.value]:
            self.refresh_search()
        return "stored"

    def journal(self, table: str, rows: pa.Table, stats: SourceStats, fmt: str) -> Path:
        """Make a batch durable as a spool segment that its source imports itself (see `store_journal`).

        The name is claimed before the segment appears, so no other import of this process takes
        it; other processes may (ingested_segments keeps that to once). SpoolFull past the limit.
        """
        name = self.spool.new_name(table)
        with self._claims_lock:
            self._claimed.add(name)
        try:
            # lz4: a journal segment lives about a second, so writing and reading speed wins over size.
            return self.spool.write(table, rows, stats.name, fmt, name=name, compression="lz4")
        except BaseException:
            self.release([name])
            raise

    def release(self, names: list[str]) -> None:
        """Give journal segments back to the spool, for whichever writer imports it next."""
        with self._claims_lock:
            self._claimed.difference_update(names)

    def store_journal(self, segments: list[spooling.Segment], stats: SourceStats, fmt: str) -> None:
        """Import one source's journal segments as one batch, then delete them; StoreBusy if it stays busy."""
        with self._lock:
            with self._unit() as cursor:
                self._import(cursor)  # what other writers spooled goes in first, as with `write`
                totals, _ = spooling.import_batch(cursor, segments, stats.name, fmt, self._forget)
            names = [segment.path.name for segment in segments]
            self.spool.remove(names)
            self._forget = names
            self.release(names)
        for table, count in totals.rows.items():
            stats.rows[table] += count
        stats.rejects += totals.rejects
        stats.skipped_duplicates += totals.skipped_duplicates

    def import_spool(self) -> None:
        """Import what the spool holds now, if the store can be had; a busy store waits."""
        if not self.spool.segments():
            return
        with self._lock:
            try:
                with self._unit() as cursor:
                    imported = self._import(cursor)
            except StoreBusy:
                return
            self.spool.remove(imported.names)

    def refresh_search(self) -> None:
        """Rebuild the dead-letter fts index; a busy store leaves it for the next writer."""
        with self._lock:
            try:
                search_index.rebuild(self.store)
            except StoreBusy:
                _log.info("store busy: the search index is rebuilt by the next writer")

    def _store(self, batch: Batch) -> IngestTotals:
        began: float | None = None
        try:
            with self._unit() as cursor:
                began = self._clock()
                imported = self._import(cursor)
                totals = _insert(cursor, batch)
        finally:  # the release (and its checkpoint) counts: it is when others wait most
            if began is not None:
                self.held += self._clock() - began
        self.spool.remove(imported.names)
        return totals

    @contextmanager
    def _unit(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One unit of work on the store (one transaction), waiting `busy_timeout` for its lock."""
        with self.store.writing(timeout=self.busy_timeout) as cursor:
            yield cursor

    def _import(self, cursor: duckdb.DuckDBPyConnection) -> spooling.Imported:
        with self._claims_lock:
            claimed = frozenset(self._claimed)
        imported = self.spool.import_into(cursor, skip=claimed)
        for table, count in imported.rows.items():
            self.imported.rows[table] += count
        self.imported.names.extend(imported.names)
        return imported

    def _spool(self, batch: Batch, stats: SourceStats, busy: StoreBusy) -> str:
        try:
            if batch.rows:
                buffer = RowBuffer(batch.table)
                buffer.rows = batch.rows
                self.spool.write(batch.table.value, buffer.take(None), batch.source, batch.fmt)
            if batch.rejects:
                self.spool.write(spooling.REJECTS, spooling.rejects_table(batch.rejects),
                                 batch.source, batch.fmt)
        except spooling.SpoolFull as full:
            raise StoredNothing(f"{busy}; {full}") from None
        stats.spooled_rows += len(batch)
        return "spooled"


def _insert(cursor: duckdb.DuckDBPyConnection, batch: Batch) -> IngestTotals:
    """One batch under its own ingest_log row (a followed file's row carries its checkpoint)."""
    point = batch.checkpoint
    ingest_id = log.start(cursor, batch.source, batch.fmt,
                          point.identity if point else None, point.offset_from if point else 0)
    totals = IngestTotals()
    if batch.rows:
        buffer = RowBuffer(batch.table)
        buffer.rows = batch.rows
        inserted, duplicates = log.insert_rows(cursor, batch.table, buffer.take(ingest_id))
        totals.rows[batch.table.value] = inserted
        totals.skipped_duplicates = duplicates
        if batch.table is Table.EVENTS and inserted:
            rollup.refresh_orders(cursor, ingest_id)  # rollups follow events in the same unit
    totals.rejects = log.record_rejects(cursor, ingest_id, batch.rejects)
    log.finish(cursor, ingest_id, totals, point.offset_to if point else None,
               point.lines if point else None)
    return totals


def summary(stats: Sequence[SourceStats]) -> dict[str, Any]:
    """The exit summary as JSON: totals, then one entry per source."""
    rows = {t.value: sum(s.rows[t.value] for s in stats) for t in Table}
    return {"rows": rows, "rejects": sum(s.rejects for s in stats),
            "skipped_duplicates": sum(s.skipped_duplicates for s in stats),
            "spooled_rows": sum(s.spooled_rows for s in stats),
            "sources": [s.to_json() for s in stats]}


def summary_line(stats: Sequence[SourceStats]) -> str:
    """The exit summary for people: 'N rows, M rejects', then the same per source."""
    def part(s: SourceStats) -> str:
        line = f"{s.name}: {plural(sum(s.rows.values()), 'row')}, {plural(s.rejects, 'reject')}"
        if s.spooled_rows:
            line += f", {s.spooled_rows:,} spooled"
        return line + (f" ({s.error})" if s.error else "")

    total = sum(sum(s.rows.values()) for s in stats)
    rejects = sum(s.rejects for s in stats)
    return "\n".join([f"collected {plural(total, 'row')}, {plural(rejects, 'reject')}", *map(part, stats)])


@dataclass
class Plan:
    """What `backroom collect` was asked to read."""

    otlp_http: tuple[str, int] | None = None
    queues: list[Any] = field(default_factory=list)  # rabbitmq_live.QueueSource
    follow: list[Path] = field(default_factory=list)
    once: bool = False


class Collection:
    """Every live source of one `collect` run, each in its own thread, sharing one writer."""

    def __init__(self, writer: LiveWriter, policy: Policy, plan: Plan,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.writer, self.policy, self.plan = writer, policy, plan
        self.stop_event = threading.Event()
        self.stats: list[SourceStats] = []
        self.receiver: Any = None
        self._threads: list[threading.Thread] = []
        self._on_error = on_error

    def start(self) -> None:
        """Import a leftover spool, bind the receiver, and start a thread per source."""
        from collectors.follow import Follower
        from collectors.rabbitmq_live import QueueCollector

        self.writer.import_spool()
        if self.plan.otlp_http is not None:
            self._start_receiver(*self.plan.otlp_http)
        for source in self.plan.queues:
            stats = self._stats(source.name, "rabbitmq-drain" if source.drain else "rabbitmq-peek")
            collector = QueueCollector(source, self.writer, self.policy, stats, self._on_error)
            self._thread([stats], collector.run, self.stop_event, once=self.plan.once)
        if self.plan.follow:
            targets = [(path, self._stats(f"follow {path}", "follow")) for path in self.plan.follow]
            follower = Follower(targets, self.writer, self.policy)
            if self.plan.once:
                def once() -> None:
                    # A poll reads at most one batch of each file (follow.BATCH_BYTES): poll
                    # until the files are read to their end (once a 20 MB log stored 8 MB).
                    while follower.poll() and not self.stop_event.is_set():
                        pass
                    follower.close()
                self._thread([stats for _, stats in targets], once)
            else:
                self._thread([stats for _, stats in targets], follower.run, self.stop_event)

    def wait_once(self) -> None:
        """With `--once`: until every source has read what was there."""
        for thread in self._threads:
            thread.join()

    def stop(self) -> list[SourceStats]:
        """Stop every source, flush what was acknowledged, import the spool if the store is free."""
        self.stop_event.set()
        if self.receiver is not None:
            self.receiver.stop()
        for thread in self._threads:
            thread.join()
        self.writer.import_spool()
        return self.stats

    def _start_receiver(self, host: str, port: int) -> None:
        from collectors.otlp_http import OtlpReceiver, SpanIntake

        stats = self._stats(f"otlp-http {host}:{port}", "otlp-http")
        try:
            self.receiver = OtlpReceiver(host, port, SpanIntake(self.writer, stats), self.policy)
        except OSError as exc:
            raise BackroomError(
                f"cannot listen on {host}:{port}: {(exc.strerror or str(exc)).lower()}") from None
        bound = self.receiver.address
        stats.name = f"otlp-http {bound[0]}:{bound[1]}"
        self.receiver.source = stats.name
        self.receiver.start()

    def _stats(self, name: str, kind: str) -> SourceStats:
        stats = SourceStats(name, kind)
        self.stats.append(stats)
        return stats

    def _thread(self, serving: list[SourceStats], target: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        def guarded() -> None:
            # No traceback reaches the terminal: a source that fails beyond what it handles
            # itself stops, and says so in one line and in the summary.
            try:
                target(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                message = f"{type(exc).__name__}: {exc}".splitlines()[0]
                for source in serving:
                    source.error = f"stopped: {message}"
                if self._on_error is not None:
                    self._on_error(f"{', '.join(s.name for s in serving)}: stopped: {message}")
        thread = threading.Thread(target=guarded, daemon=True)
        self._threads.append(thread)
        thread.start()
