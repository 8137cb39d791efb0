"""The ingest driver: files and folders in; canonical rows, rejects and an ingest_log row out."""

from __future__ import annotations

import contextlib
import functools
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from opentelemetry import trace

from collectors import detect, fastpath, fastpath_otlp, parallel, walk
from collectors import spool as spooling
from collectors.detect import Records
from collectors.filerun import FileRun
from collectors.parallel import CHUNK_BYTES, PARALLEL_BYTES, Workers
from collectors.parsers import UnsupportedFormat, make_parser, unsupported
from collectors.reports import FileReport, IngestReport, ProgressInfo
from collectors.rows import Parser, micros
from collectors.text import excerpt
from collectors.units import Batch, BatchWriter, Lines, Units, gather, watched
from queries import ingest as log
from queries import search_index
from queries.ingest import IngestTotals, Reject, Table
from queries.policy import Policy
from queries.policy import load as load_policy
from queries.store import Store

# Half a DuckDB row group (122,880 rows): a unit of work's batches fill whole ones, which DuckDB
# writes straight to the file rather than into the WAL first and the file again at the
# checkpoint that the commit (or the release of the store) makes; that made the commits of a
# 909k-span file take 6.2 s instead of 8.1 s.
BATCH_ROWS = 61_440
# A large file is committed (and the store released) every 250-450k rows: four batches at least,
# ending where no checkpoint writes them again (units.whole_groups). A commit costs more as the
# table grows (it merges the unit's keys into the primary key's index): 880k spans took 10.4 s
# of DuckDB's work in units of two batches, 8.5 s in units of four, 7.2 s in one unit.
COMMIT_EVERY_BATCHES = 4
# A batch also ends after this much input, so records with large bodies (dead letters of a few
# hundred kB) do not hold gigabytes: three batches can be in memory at once (two with the writer).
BATCH_BYTES = 64 * 1024 * 1024
UNKNOWN = "unknown"
# backroom traces itself (DESIGN.md): a span per file and per batch; free without an SDK.
_tracer = trace.get_tracer("backroom.collectors")


class Progress(Protocol):
    """How far a file got: bytes of its total, and records read (the report's, unless given)."""

    def __call__(self, report: FileReport, done: int, total: int,
                 records: int | None = None, /) -> None: ...


class FileIngest:
    """Reads one file into the store in units of work, idempotently, resuming an interrupted run."""

    def __init__(
        self, store: Store, policy: Policy, *, batch_rows: int = BATCH_ROWS,
        commit_every: int = COMMIT_EVERY_BATCHES, max_line: int = detect.MAX_LINE_BYTES,
        progress: Progress | None = None, fast_path: bool = True,
        otlp_fast_path: bool = False, batch_bytes: int = BATCH_BYTES,
        workers: Workers | None = None, parallel_bytes: int | None = PARALLEL_BYTES,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.store, self.policy = store, policy
        # Large files are parsed on `workers` (collectors/parallel.py); None parses here.
        self.workers, self.parallel_bytes, self.chunk_bytes = workers, parallel_bytes, chunk_bytes
        self.batch_bytes = batch_bytes
        self.batch_rows, self.commit_every, self.max_line = batch_rows, commit_every, max_line
        self.progress = progress
        self.fast_path = fast_path  # False forces the line-by-line Python path (tests, benches)
        # The OTLP fast path stores what the Python parser stores but is slower than it on this
        # machine's two cores (README, Performance), so it runs only when asked for.
        self.otlp_fast_path = otlp_fast_path

    def run(self, path: Path, fmt: str) -> FileReport:
        """Ingest one file with `fmt` ('auto' detects it from the content)."""
        undetected, head, layout = None, b"", None
        with ThreadPoolExecutor(1) as pool:
            # SHA-256 releases the GIL: the fast path's pass over the lines runs meanwhile.
            digest = pool.submit(detect.identity_of, path)
            try:
                head = detect.read_head(path)
                if fmt == "auto":
                    fmt = detect.detect(head) if head.strip() else UNKNOWN
                if fmt == detect.EVENTS and self._fast_allowed():
                    layout = fastpath.usable(path, head, self.policy)
            except detect.Undetected as exc:
                fmt, undetected = UNKNOWN, str(exc)
            except OSError as exc:
                raise detect.unreadable(path, exc) from None
            if self.workers is not None and fmt != UNKNOWN and layout is None \
                    and not (fmt == detect.OTLP and self.otlp_fast_path) \
                    and self._parallel(path, 0, head):
                self.workers.start()  # while the file's identity is computed
            try:
                identity, size = digest.result(), path.stat().st_size
            except OSError as exc:
                raise detect.unreadable(path, exc) from None
        run = FileRun(path, fmt, size, FileReport(str(path), fmt), self.commit_every)
        attributes = {"backroom.source": str(path), "backroom.format": fmt}
        with _tracer.start_as_current_span("ingest file", attributes=attributes), \
                Units(self.store) as units:
            prior = log.previous_ingest(units.cursor(), identity, fmt)
            if prior is not None and prior.finished:
                self._unchanged(units, run, identity, prior)
                if self.progress is not None:
                    self.progress(run.report, size, size)
                return run.report
            resume = prior if prior is not None and prior.offset_to else None
            self._start(units, run, identity, resume)
            if fmt == UNKNOWN:
                self._undetected(run, undetected, head)
                self._finish(units, run)
            elif not self._fast(units, run, head, resume, layout):
                self._read(units, run, head, resume)
        return run.report

    def _start(self, units: Units, run: FileRun, identity: str, resume: Any) -> None:
        if resume is None:
            run.ingest_id = log.start(units.cursor(), str(run.path), run.fmt, identity)
            return
        run.ingest_id, run.totals = resume.ingest_id, resume.totals
        run.report.resumed_from = resume.offset_to

    def _unchanged(self, units: Units, run: FileRun, identity: str, prior: Any) -> None:
        """The same content was ingested before: nothing to read, all of it counts as duplicates."""
        cursor = units.cursor()
        report = run.report
        report.unchanged = True
        report.rejects = prior.totals.rejects
        report.skipped_duplicates = prior.records - prior.totals.rejects
        report.records = prior.records
        ingest_id = log.start(cursor, str(run.path), run.fmt, identity)
        totals = IngestTotals(skipped_duplicates=report.skipped_duplicates, rejects=report.rejects)
        log.finish(cursor, ingest_id, totals, run.size, prior.lines)

    def _undetected(self, run: FileRun, reason: str | None, head: bytes) -> None:
        if reason is None:
            return  # an empty file: nothing to read, nothing wrong
        run.pending.append(Reject(str(run.path), 1, reason, excerpt(head), 0))
        run.report.records += 1

    def _fast_allowed(self) -> bool:
        # One SQL statement is one unit of work for the whole file: a caller that asked for
        # small units (to release the store often, or to test resuming) gets the Python path.
        return self.fast_path and self.batch_rows >= BATCH_ROWS

    def _fast(
        self, units: Units, run: FileRun, head: bytes, resume: Any,
        layout: fastpath.Layout | None,
    ) -> bool:
        """Ingest a CloudEvents or OTLP JSON lines file in DuckDB; False if it cannot.

        collectors/fastpath.py and collectors/fastpath_otlp.py store what they can vouch for
        and name the lines left to the Python parser, which reads just those. `layout` is the
        CloudEvents fast path's, found while the file's identity was computed (a gzip file's is
        found once it is unpacked).
        """
        if not self._fast_allowed() or resume is not None:
            return False
        if run.fmt == detect.OTLP and self.otlp_fast_path:
            layout = fastpath_otlp.usable(run.path, head)
        elif run.fmt != detect.EVENTS:
            return False
        data = run.path
        if layout is None and run.fmt == detect.EVENTS and detect.is_gzip(run.path):
            data, layout = self._unpacked(units, run, head)
        if layout is None:
            return False
        try:
            return self._fast_from(units, run, data, layout)
        finally:
            if data != run.path:
                data.unlink(missing_ok=True)

    def _unpacked(self, units: Units, run: FileRun, head: bytes,
                  ) -> tuple[Path, fastpath.Layout | None]:
        """A gzip CloudEvents file unpacked beside the store, and its layout, for the fast path
        ((the file, None) when it cannot be): it reads the lines in Python too (counting them,
        finding and seeking to those left out), which a gzip stream would decompress again each
        time. The Python path took 45.5 s for 2M events where unpacking and the fast path take
        33 s. Only a file not stored before is unpacked, and the store is let go meanwhile."""
        if detect.is_document(head) or fastpath.plan_for(self.policy) is None:
            return run.path, None
        units.release()  # and the log's start row is committed
        copy = detect.unpacked(run.path, self.store.path.parent)
        if copy is None:
            return run.path, None
        layout = None
        try:
            layout = fastpath.usable(copy, head, self.policy)
        finally:
            if layout is None:
                copy.unlink(missing_ok=True)
        return (copy, layout) if layout is not None else (run.path, None)

    def _fast_from(self, units: Units, run: FileRun, data: Path, layout: fastpath.Layout,
                   ) -> bool:
        """The fast path over `data` (the file, or a gzip file's content unpacked)."""
        # The log's start row is committed first, so that a fast path that cannot finish is undone
        # by rolling back its unit, which holds nothing else.
        units.commit()
        try:
            with _tracer.start_as_current_span("ingest fast path"):
                cursor = units.cursor()
                if run.fmt == detect.EVENTS:
                    lines = layout.lines
                    result = watched(cursor, functools.partial(
                        fastpath.load_events, cursor, data, self.policy, run.ingest_id,
                        layout), lambda done: self._estimate(run, done, lines))
                else:
                    result = fastpath_otlp.load_spans(
                        cursor, data, self.policy, run.ingest_id, max_line=self.max_line)
        except fastpath.LayoutChanged:
            units.rollback()
            return False
        parser = make_parser(run.fmt, str(run.path), self.policy)
        table = parser.table.value
        run.report.records += result.taken
        run.report.rows[table] += result.inserted
        run.report.skipped_duplicates += result.duplicates
        run.totals.rows[table] += result.inserted
        run.totals.skipped_duplicates += result.duplicates
        slow = fastpath.SlowLines(data, result.slow_lines, layout, max_line=self.max_line,
                                  offsets=result.slow_offsets or None)
        self._consume(units, run, parser, slow)  # type: ignore[arg-type]
        return True

    def _estimate(self, run: FileRun, done: float, lines: int) -> None:
        """Report a statement that reads the whole file as `done` percent of its bytes and lines."""
        if self.progress is not None:
            self.progress(run.report, int(run.size * done / 100), run.size,
                          int(lines * done / 100))

    def _read(self, units: Units, run: FileRun, head: bytes, resume: Any) -> None:
        # Each unit of work then holds nothing but batches, which FileRun.write can write again.
        units.commit()
        run.new_keys = True
        start, lines = (resume.offset_to, resume.lines or 0) if resume is not None else (0, 0)
        if self._parallel(run.path, start, head):
            assert self.workers is not None
            job = parallel.Job(run.path, run.fmt, self.policy, micros(datetime.now(UTC)),
                               run.ingest_id, self.max_line, self.batch_rows, self.batch_bytes)
            self._write_all(units, run, self.workers.batches(job, start, lines, self.chunk_bytes),
                            parsing=self.workers.count)
            return
        parser = make_parser(run.fmt, str(run.path), self.policy)
        document = resume is None and detect.is_document(head)
        with detect.open_binary(run.path) as handle:
            handle.seek(start)
            records = Records(handle, document=document, offset=start, line=lines,
                              max_line=self.max_line, decode=parser.decode)
            self._consume(units, run, parser, records)

    def _parallel(self, path: Path, start: int, head: bytes) -> bool:
        """Whether to parse the file from `start` on worker processes (collectors/parallel.py)."""
        return (self.workers is not None and self.parallel_bytes is not None
                and path.stat().st_size - start >= self.parallel_bytes
                and not detect.is_document(head) and not detect.is_gzip(path))

    def _consume(self, units: Units, run: FileRun, parser: Parser, records: Lines) -> None:
        """Parse, batch and write every record `records` yields, then finish the file."""
        rejects, run.pending = run.pending, []
        self._write_all(units, run, gather(parser, records, str(run.path), run.ingest_id,
                                           self.batch_rows, self.batch_bytes, rejects))

    def _write_all(
        self, units: Units, run: FileRun, batches: Iterator[Batch], *, parsing: int = 0,
    ) -> None:
        """Write `batches` (the last with final set), then finish the file.

        Each full batch is written on a thread of its own while the next is parsed (DuckDB lets go
        of the GIL while it inserts and commits); up to two batches are in flight, written in order,
        and the final one is written once they have landed, so batches, checkpoints and commits keep
        their order.

        While `parsing` worker processes parse the batches, DuckDB gets the cores they leave (at
        least one): on two cores its writes of 896k spans took 7.3 s of CPU on one thread against
        10-11.5 s on two, and that CPU was the workers'. The whole ingest took 12-14 s against 16.
        """
        limited = (self.store.threads_limited(max(1, parallel.cores() - parsing)) if parsing
                   else contextlib.nullcontext())
        with limited, BatchWriter(functools.partial(run.write, units)) as writer:
            for batch in batches:
                run.report.records += batch.records
                if batch.final:
                    break
                writer.submit(batch)
                if self.progress is not None:
                    self.progress(run.report, batch.offset, run.size)
        run.write(units, batch, final=True)
        if self.progress is not None:
            self.progress(run.report, batch.offset, run.size)

    def _finish(self, units: Units, run: FileRun) -> None:
        """Write the rejects gathered (of a file not read), then the log's end of the file."""
        rejects, run.pending = run.pending, []
        run.write(units, Batch(None, None, rejects, run.size, None), final=True)
        if self.progress is not None:
            self.progress(run.report, run.size, run.size)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic GC while parsing: full passes over every parsed record cost ~30 %.

    Parsing makes no reference cycles worth collecting, and batches bound the memory held.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def ingest_paths(
    store: Store,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    policy: Policy | None = None,
    on_progress: Callable[[ProgressInfo], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    batch_bytes: int = BATCH_BYTES,
    commit_every: int = COMMIT_EVERY_BATCHES,
    max_line_bytes: int = detect.MAX_LINE_BYTES,
    fast_path: bool = True,
    otlp_fast_path: bool = False,
    parallel_bytes: int | None = PARALLEL_BYTES,
    chunk_bytes: int = CHUNK_BYTES,
    jobs: int | None = None,
) -> IngestReport:
    """Ingest files and folders (walked recursively, sorted), each file's format told by content.

    A file of at least `parallel_bytes` read line by line is parsed on `jobs` worker processes
    (collectors/parallel.py; None: one per core), in pieces of `chunk_bytes`; `parallel_bytes`
    None or `jobs` 1 parses every file here.
    """
    if fmt != "auto" and fmt not in detect.FORMATS:
        raise UnsupportedFormat(unsupported(fmt))
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    files = walk.expand(paths, skip=store.own_files)
    walk.preflight(files)
    effective = policy if policy is not None else load_policy()
    report = IngestReport()
    started = time.perf_counter()

    def progress(file_report: FileReport, done: int, total: int,
                 records: int | None = None) -> None:
        if on_progress is not None:
            on_progress(ProgressInfo(
                Path(file_report.path), file_report.format, done, total,
                file_report.records if records is None else records,
                len(report.sources), len(files),
            ))

    count = parallel.cores() if jobs is None else jobs
    workers = Workers(count) if count > 1 and parallel_bytes is not None else None
    driver = FileIngest(
        store, effective, batch_rows=batch_rows, batch_bytes=batch_bytes, commit_every=commit_every,
        max_line=max_line_bytes, progress=progress, fast_path=fast_path,
        otlp_fast_path=otlp_fast_path, workers=workers, parallel_bytes=parallel_bytes,
        chunk_bytes=chunk_bytes,
    )
    _import_spool(store, report)
    try:
        with _collector_paused():
            for path in files:
                report.add(driver.run(path, fmt))
    finally:
        if workers is not None:
            workers.close()
    if report.rows[Table.DLQ_MESSAGES.value]:
        search_index.rebuild(store)  # the fts index is static: the writer rebuilds it
    report.elapsed_seconds = time.perf_counter() - started
    return report


def _import_spool(store: Store, report: IngestReport) -> None:
    """Take in batches a live collector spooled while the store was busy (SCALE.md), exactly once."""
    spool = spooling.Spool(spooling.folder_for(store.path))
    if not spool.segments():
        return
    with store.writing() as cursor:
        imported = spool.import_into(cursor)
    spool.remove(imported.names)  # after the commit: a crash before this cannot import twice
    for table, count in imported.rows.items():
        report.rows[table] = report.rows.get(table, 0) + count
    report.rejects += imported.rejects
    report.spooled_segments = len(imported.names)
