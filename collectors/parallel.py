"""Parsing a large file of JSON lines on several processes while this one writes what they give.

A Python parser holds the GIL: on one thread it reads, parses and makes Arrow columns of a span
in about 20 µs, so it set the pace of a large ingest while DuckDB's writes, which let go of the
GIL, waited for it. A file of at least PARALLEL_BYTES, read line by line and not compressed, is
cut at line ends into pieces of CHUNK_BYTES; worker processes (one per core) parse the pieces into
the batches the one-process path makes (`units.gather`), with lines counted from the piece's
start, and the ingest writes them in file order, numbering lines as it goes and joining a piece's
last, partial batch to the next. Rows, rejects (file, line, offset, reason), counts and
checkpoints are those of the one-process path (tests/test_collect_parallel.py compares them).

Workers are spawned (not forked: the ingest's process runs DuckDB's and Arrow's threads), so a
program that calls `ingest_paths` on such a file must guard its main module with
`if __name__ == "__main__":`, as multiprocessing requires; `backroom` does.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import pyarrow as pa

from collectors import detect
from collectors.units import Batch, gather
from queries.errors import BackroomError
from queries.policy import Policy

PARALLEL_BYTES = 64 * 1024 * 1024  # smaller files are parsed here: starting workers takes ~1 s
CHUNK_BYTES = 16 * 1024 * 1024  # about half a second of one worker's parsing
_SCAN = 1024 * 1024  # bytes read at a time looking for the end of a line
# Pieces parsed ahead of the writes, per worker: enough to go on parsing while a unit commits
# (1-4 s), about 16 MB of Arrow rows each.
AHEAD = 4


class WorkerFailed(BackroomError):
    """A parsing process stopped without an answer (killed, or out of memory)."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    """What every piece of one file is parsed with."""

    path: Path
    fmt: str
    policy: Policy
    seen_at: int
    ingest_id: int
    max_line: int
    batch_rows: int
    batch_bytes: int


@dataclass(frozen=True)
class Piece:
    """The batches of bytes [start, end) of a file (end None: to its end), and its line count."""

    batches: list[Batch]  # lines counted from the piece's start; the last one is partial
    lines: int


class _Slice:
    """The lines of a file up to `end`, for `detect.Records` (which only calls readline)."""

    def __init__(self, handle: BinaryIO, end: int | None) -> None:
        self.handle, self.end = handle, end

    def readline(self, limit: int = -1) -> bytes:
        if self.end is None:
            return self.handle.readline(limit)
        left = self.end - self.handle.tell()
        if left <= 0:
            return b""
        return self.handle.readline(left if limit < 0 else min(limit, left))


def parse_piece(job: Job, start: int, end: int | None) -> Piece:
    """Parse one piece of the file in a worker, as the one-process path parses the whole file."""
    from collectors.parsers import make_parser

    source = str(job.path)
    parser = make_parser(job.fmt, source, job.policy, seen_at=job.seen_at)
    with job.path.open("rb") as handle:
        handle.seek(start)
        piece = cast(BinaryIO, _Slice(handle, end))  # Records only calls readline
        records = detect.Records(piece, document=False, offset=start, max_line=job.max_line,
                                 decode=parser.decode)
        batches = list(gather(parser, records, source, job.ingest_id, job.batch_rows,
                              job.batch_bytes))
    return Piece(batches, records.line)


def _ready() -> None:
    """Import what parsing needs, so that a worker started early is ready for its first piece."""
    import collectors.ingest  # noqa: F401


def _worker_started() -> None:
    # Ctrl-C reaches the whole process group: the ingest stops the workers, they do not print.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # as the ingest does while parsing (collectors.ingest._collector_paused)
    # Below the ingest's own process, whose writes must keep pace with the pieces parsed (and
    # below the console, should one run): runs of the 880k-span file varied 17.2-20.5 s without
    # this, 17.3-17.9 s with it.
    os.nice(10)


def pieces(path: Path, start: int, chunk: int) -> Iterator[tuple[int, int | None]]:
    """[start, end) byte ranges of about `chunk` bytes that begin and end at line starts."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        while start + chunk < size:
            end = _next_line_start(handle, start + chunk)
            if end is None:
                break
            yield start, end
            start = end
    yield start, None  # the last piece reads to the end, as the one-process path does


def _next_line_start(handle: BinaryIO, position: int) -> int | None:
    """The offset just after the first newline at or after `position`; None if there is none."""
    handle.seek(position)
    while block := handle.read(_SCAN):
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return None


class Workers:
    """Worker processes for the files of one ingest, started when the first large file needs them."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._pool: ProcessPoolExecutor | None = None

    def batches(self, job: Job, start: int, lines: int, chunk: int) -> Iterator[Batch]:
        """The file's batches from `start` (after `lines` lines) in order, lines counted from the
        file's start; the last one has final set. A few pieces are parsed ahead, not more."""
        pending: deque[Future[Piece]] = deque()
        ranges = pieces(job.path, start, chunk)
        carry: Batch | None = None
        offset = start
        try:
            while len(pending) < self.count * AHEAD and (taken := next(ranges, None)):
                pending.append(self._submit(job, *taken))
            while pending:
                piece = self._result(pending.popleft())
                if taken := next(ranges, None):
                    pending.append(self._submit(job, *taken))
                for batch in piece.batches:
                    batch = _counted_from(batch, lines)
                    offset = batch.offset
                    if carry is not None:
                        batch, carry = _joined(carry, batch), None
                    if batch.final and not _full(batch, job):
                        carry = batch  # a piece's partial last batch: joined to the next one's
                    else:
                        yield dataclasses.replace(batch, final=False)
                lines += piece.lines
            yield carry if carry is not None else Batch(None, None, [], offset, lines, final=True)
        finally:
            for future in pending:
                future.cancel()

    def start(self) -> None:
        """Start the processes now (about a second), while the caller does something else."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.count, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_started)
            for _ in range(self.count):
                self._pool.submit(_ready)

    def _submit(self, job: Job, start: int, end: int | None) -> Future[Piece]:
        self.start()
        assert self._pool is not None
        return self._pool.submit(parse_piece, job, start, end)

    @staticmethod
    def _result(future: Future[Piece]) -> Piece:
        try:
            return future.result()
        except BrokenProcessPool:
            raise WorkerFailed(
                "a parsing process stopped (out of memory?); what was committed stays: "
                "run the ingest again to resume") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _counted_from(batch: Batch, lines: int) -> Batch:
    """A worker's batch with its lines (and its rejects') counted from the file's start."""
    if not lines:
        return batch
    rejects = [dataclasses.replace(reject, line=reject.line + lines)
               if reject.line is not None else reject for reject in batch.rejects]
    return dataclasses.replace(batch, rejects=rejects,
                               lines=None if batch.lines is None else batch.lines + lines)


def _joined(first: Batch, then: Batch) -> Batch:
    """Two consecutive batches as one (the first a piece's partial last one)."""
    tables = [table for table in (first.rows, then.rows) if table is not None]
    rows = tables[0] if len(tables) == 1 else pa.concat_tables(tables) if tables else None
    return Batch(then.table or first.table, rows, first.rejects + then.rejects, then.offset,
                 then.lines, records=first.records + then.records, final=then.final,
                 start=first.start)


def _full(batch: Batch, job: Job) -> bool:
    """Whether a batch holds as much as one that the one-process path would have ended."""
    rows = batch.rows.num_rows if batch.rows is not None else 0
    return (rows >= job.batch_rows or len(batch.rejects) >= job.batch_rows
            or batch.offset - batch.start >= job.batch_bytes)
