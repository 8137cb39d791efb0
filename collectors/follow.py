"""Follow files and folders: read new JSON lines as they are written, across rotation and truncation.

A file is known by its device, inode and the hash of its first line, so a rename keeps its
place and a truncated or replaced file starts again. How far each file was read is stored
with the rows read up to there (an `ingest_log` row per batch: identity and `offset_to`), so
a restart resumes exactly there: no gap, no line read twice.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from collectors import detect, walk
from collectors.live import BACKOFF, Batch, Checkpoint, LiveWriter, SourceStats, StoredNothing
from collectors.parsers import make_parser
from collectors.rows import Parser
from collectors.text import excerpt
from queries import ingest as log
from queries.errors import StoreBusy, StoreMissing
from queries.ingest import Reject
from queries.policy import Policy

CHUNK = 8 * 1024 * 1024  # bytes read at a time
# Bytes of one file read into one batch, about what `ingest` puts in one (61,440 rows): a
# batch's cost is mostly fixed on a large store, so a follower that fell behind catches up in
# few of them. 200 MB of events read by `collect --follow --once` into a new store: 25.1 s and
# 519 MB peak RSS in 8 MB batches, 19.1 s and 628 MB in 16, 15.9 s and 801 MB in 32; the
# 909k-span file 40.6 s and 734 MB in 8, 37.7 s and 1,072 MB in 32, 36.9 s and 1,157 MB in 64.
BATCH_BYTES = 32 * 1024 * 1024
_FIRST_LINE = 4096


@dataclass
class Tail:
    """One followed file (one inode): its open handle and how far it was read."""

    path: Path
    handle: BinaryIO
    inode: tuple[int, int]
    identity: str
    fmt: str
    parser: Parser
    offset: int = 0
    lines: int = 0
    stats: SourceStats = field(default_factory=lambda: SourceStats("", "follow"))
    gone: bool = False  # no longer at a followed path (renamed away or deleted)
    # Read and parsed while the follower rests (rows in `parser.buffer`), not stored yet: up to
    # this offset and line, with these rejects. None: nothing waiting.
    ahead_to: int | None = None
    ahead_lines: int = 0
    ahead_rejects: list[Reject] = field(default_factory=list)


def _first_line(handle: BinaryIO) -> bytes | None:
    """The first line with its newline, or None while it is still being written."""
    handle.seek(0)
    head = handle.read(_FIRST_LINE)
    end = head.find(b"\n")
    return head[: end + 1] if end >= 0 else (head if len(head) == _FIRST_LINE else None)


def _batch_bytes(handle: BinaryIO, limit: int | None = None) -> tuple[bytes, bool]:
    """Up to `limit` (BATCH_BYTES) bytes from where `handle` stands, and whether they reach the
    file's end."""
    limit = BATCH_BYTES if limit is None else limit
    parts: list[bytes] = []
    size = 0
    while size < limit:
        wanted = min(CHUNK, limit - size)
        piece = handle.read(wanted)
        parts.append(piece)
        size += len(piece)
        if len(piece) < wanted:
            return b"".join(parts), True
    return b"".join(parts), False


def _identity(inode: tuple[int, int], first: bytes) -> str:
    return f"follow:{inode[0]}:{inode[1]}:{hashlib.sha256(first).hexdigest()[:16]}"


class Follower:
    """Tails every file at the given paths (folders: every file inside) into the store."""

    def __init__(self, targets: list[tuple[Path, SourceStats]], writer: LiveWriter,
                 policy: Policy, *, max_line: int = detect.MAX_LINE_BYTES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.targets, self.writer, self.policy = targets, writer, policy
        self.max_line = max_line  # as `ingest`: a longer line is rejected, the rest read on
        self.tails: dict[tuple[int, int], Tail] = {}
        self.behind = False  # a file has a batch or more to read (or parsed ahead): write now
        self.closing = False  # the last poll: what a file no longer followed holds is spooled
        self.clock = clock

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Poll until `stop` is set, then read what is there one last time.

        Once caught up, the next write waits BACKOFF times as long as the batches written by the
        last one held the store (`LiveWriter.held`: this follower's, and a queue's if one is
        collected too; the receiver paces its own imports). Meanwhile the files are still read
        every `interval` and their lines parsed ahead, so that a file truncated in place (logrotate's
        copytruncate) loses none of what was written before. A follower behind (a file with a
        batch or more to read) writes at once, to catch up in batches of BATCH_BYTES."""
        due = self.clock()
        while not stop.is_set():
            write = self.behind or self.clock() >= due
            before = self.writer.held
            self.behind = False
            self.poll(write=write)
            if write:
                due = self.clock() + BACKOFF * (self.writer.held - before)
            stop.wait(0 if self.behind else interval)
        self.closing = True
        self.poll()
        self.close()

    def close(self) -> None:
        for tail in self.tails.values():
            tail.handle.close()
        self.tails.clear()

    def poll(self, write: bool = True) -> int:
        """Read every complete new line of every followed file and store them; returns lines
        stored. With `write` False, parse them ahead for the next poll that writes."""
        seen: set[tuple[int, int]] = set()
        done = 0
        for target, stats in self.targets:
            for path in self._files(target, stats):
                tail = self._tail_for(path, stats)
                if tail is not None:
                    seen.add(tail.inode)
                    done += self._read(tail) if write else self._read_ahead(tail)
        for inode in [inode for inode in self.tails if inode not in seen]:
            gone = self.tails[inode]  # renamed away or deleted: finish it, then let it go
            gone.gone = True
            lines, finished = self._finish(gone)
            done += lines
            if finished:
                del self.tails[inode]
                gone.handle.close()
        return done

    def _finish(self, tail: Tail) -> tuple[int, bool]:
        """Read a file no longer at its path to its end, a batch at a time; the lines done, and
        whether it was read to its end (not while the store is busy: the next poll goes on)."""
        done = 0
        while True:
            before = tail.offset
            done += self._read(tail, to_end=True)
            if tail.offset >= os.fstat(tail.handle.fileno()).st_size:
                return done, True
            if tail.offset == before:
                return done, False

    def _files(self, target: Path, stats: SourceStats) -> list[Path]:
        try:
            mode = target.stat().st_mode
        except FileNotFoundError:
            return []  # not written yet
        except OSError as exc:  # a symbolic link loop, a permission on the way
            stats.error = f"cannot follow {target}: {(exc.strerror or str(exc)).lower()}"
            return []
        if stat.S_ISDIR(mode):
            return walk.expand([target], skip=self.writer.store.own_files)
        if not stat.S_ISREG(mode):  # opening a named pipe would wait for a writer
            stats.error = f"cannot follow {target}: not a regular file"
            return []
        return [target]

    def _tail_for(self, path: Path, stats: SourceStats) -> Tail | None:
        try:
            status = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:  # a symbolic link loop, a permission on the way
            stats.error = str(detect.unreadable(path, exc))
            return None
        inode = (status.st_dev, status.st_ino)
        tail = self.tails.get(inode)
        if tail is not None:
            tail.path = path
            return self._check_truncated(tail, status.st_size)
        return self._open(path, inode, stats)

    def _open(self, path: Path, inode: tuple[int, int], stats: SourceStats) -> Tail | None:
        try:
            handle = path.open("rb")
        except OSError as exc:
            stats.error = str(detect.unreadable(path, exc))
            return None
        if handle.read(2) == detect.GZIP_MAGIC:  # logrotate's `compress`: a finished copy
            handle.close()
            stats.error = (f"{path}: gzip-compressed, so not followed (a rotated log?); "
                           f"'backroom ingest {path}' reads it once")
            return None
        first = _first_line(handle)
        if first is None or not first.strip():
            handle.close()
            return None  # nothing to tell the format or identity from yet
        try:
            fmt = detect.detect(first)
        except detect.Undetected as exc:
            handle.close()
            stats.error = f"{path}: {exc}"
            return None
        tail = Tail(path, handle, inode, _identity(inode, first), fmt,
                    make_parser(fmt, str(path), self.policy), stats=stats)
        if not self._resume(tail):
            handle.close()
            return None
        self.tails[inode] = tail
        return tail

    def _resume(self, tail: Tail) -> bool:
        """Start where the last committed batch of this file ended; False while the store is busy."""
        try:
            with self.writer.store.reading(timeout=self.writer.busy_timeout) as cursor:
                prior = log.previous_ingest(cursor, tail.identity, tail.fmt)
        except StoreMissing:
            return True
        except StoreBusy:
            return False
        size = os.fstat(tail.handle.fileno()).st_size
        if prior is not None and prior.offset_to is not None and prior.offset_to <= size:
            tail.offset, tail.lines = prior.offset_to, prior.lines or 0
        return True

    def _check_truncated(self, tail: Tail, size: int) -> Tail:
        first = _first_line(tail.handle) if size else None
        read_to = tail.offset if tail.ahead_to is None else tail.ahead_to
        if size >= read_to and first is not None and _identity(tail.inode, first) == tail.identity:
            return tail
        # Truncated (or rewritten in place): the content before is gone, start again at 0. What
        # was parsed ahead of it is stored now (spooled if the store is busy: the file lost it).
        if tail.ahead_to is not None:
            self._store_ahead(tail, may_spool=True)
        tail.offset, tail.lines = 0, 0
        if tail.ahead_to is not None:  # not even spooled: it goes with the file's next batch
            tail.ahead_to, tail.ahead_lines = 0, 0
        if first is not None and first.strip():
            tail.identity = _identity(tail.inode, first)
        return tail

    def _read_ahead(self, tail: Tail) -> int:
        """Parse the complete lines after those parsed ahead already, to store later; 0."""
        start = tail.offset if tail.ahead_to is None else tail.ahead_to
        if start - tail.offset >= BATCH_BYTES:
            self.behind = True  # a batch waits: write it now
            return 0
        tail.handle.seek(start)
        # what waits, with what is read now, stays within one batch; more than that: write now
        data, at_end = _batch_bytes(tail.handle, BATCH_BYTES - (start - tail.offset))
        self.behind = self.behind or not at_end
        end = data.rfind(b"\n") + 1
        if end <= 0:
            return 0  # nothing whole yet, or a line longer than a read: for the next write
        lines = tail.lines if tail.ahead_to is None else tail.ahead_lines
        rejects, tail.ahead_to, tail.ahead_lines = self._parse(tail, data[:end], start, lines)
        tail.ahead_rejects += rejects
        return 0

    def _store_ahead(self, tail: Tail, may_spool: bool = False) -> int:
        """Store what was parsed ahead (kept, and still ahead, if the store is busy)."""
        assert tail.ahead_to is not None
        rejects, tail.ahead_rejects = tail.ahead_rejects, []
        return self._store(tail, rejects, tail.ahead_to, tail.ahead_lines, keep=True,
                           may_spool=may_spool)

    def _read(self, tail: Tail, to_end: bool = False) -> int:
        """Parse the complete lines after the checkpoint and store them with the new checkpoint
        (what was parsed ahead first)."""
        done = 0
        if tail.ahead_to is not None:
            done = self._store_ahead(tail)
            if tail.ahead_to is not None:
                return done  # the store is busy: kept for the next write
        return done + self._read_now(tail, to_end)

    def _read_now(self, tail: Tail, to_end: bool) -> int:
        tail.handle.seek(tail.offset)
        data, at_end = _batch_bytes(tail.handle)
        end = len(data) if to_end and at_end else data.rfind(b"\n") + 1
        self.behind = self.behind or not at_end
        if end <= 0 and not at_end:  # one line longer than a read
            before = tail.lines
            data = self._long_line(tail, data, to_end)
            if not data:
                return tail.lines - before  # rejected as too long (1), or not ended yet (0)
            end = len(data)
        if end <= 0:
            return 0
        rejects, offset, line = self._parse(tail, data[:end], tail.offset, tail.lines)
        return self._store(tail, rejects, offset, line)

    def _long_line(self, tail: Tail, head: bytes, to_end: bool) -> bytes:
        """The line at the checkpoint that `head` (one read) did not finish, with its line end;
        b"" while its end is not written yet, or once a line past max_line was rejected."""
        parts, size, keep = [head], len(head), True
        while True:
            more = tail.handle.read(CHUNK)
            if not more and not to_end:
                return b""  # the writer is still on it: wait for its end
            cut = more.find(b"\n")
            piece = more if cut == -1 else more[:cut + 1]
            size += len(piece)
            keep = keep and size <= self.max_line + 1
            if keep:
                parts.append(piece)
            if cut != -1 or not more:
                break
        if keep and size - piece.endswith(b"\n") <= self.max_line:  # as detect.Records reads
            return b"".join(parts)
        # Too long to parse: rejected by its place, the file read on after it.
        reason = f"line longer than {self.max_line:,} bytes"
        too_long = Reject(str(tail.path), tail.lines + 1, reason, excerpt(head[:1024]), tail.offset)
        self._store(tail, [too_long], tail.offset + size, tail.lines + 1)
        return b""

    def _store(self, tail: Tail, rejects: list[Reject], offset: int, line: int, *,
               keep: bool = False, may_spool: bool = False) -> int:
        """Write what was parsed with the checkpoint it reaches; the lines done (0 if busy).

        While the store is busy a followed file still holds the lines for the next poll, or the
        next run, to read again; rows parsed ahead are `keep`t instead (their file may be
        truncated meanwhile). A file no longer followed does not hold them once this follower
        stops, nor one truncated: spooled then."""
        point = Checkpoint(tail.identity, tail.offset, offset, line)
        batch = Batch(tail.stats.name, tail.fmt, tail.parser.table, [], rejects, point)
        batch.rows, tail.parser.buffer.rows = tail.parser.buffer.rows, []
        try:
            self.writer.write(batch, tail.stats,
                              may_spool=may_spool or (self.closing and tail.gone))
        except StoredNothing:
            if keep:
                tail.parser.buffer.rows = batch.rows + tail.parser.buffer.rows
                tail.ahead_rejects = rejects + tail.ahead_rejects
            return 0
        done = line - tail.lines
        tail.offset, tail.lines = offset, line
        if keep:
            tail.ahead_to, tail.ahead_lines = None, 0
        return done

    def _parse(self, tail: Tail, data: bytes, offset: int, line: int,
               ) -> tuple[list[Reject], int, int]:
        """The rows and rejects of complete lines from `offset` (after `line` lines), read as
        `ingest` reads a file's lines (split at line ends only, byte-order marks and blank lines
        skipped, the same reasons)."""
        rejects: list[Reject] = []
        records = detect.Records(io.BytesIO(data), document=False, offset=offset,
                                 line=line, max_line=self.max_line, decode=tail.parser.decode)
        for value, where in records:
            if isinstance(value, detect.Failed):
                rejects.append(Reject(str(tail.path), where.line, value.reason,
                                      excerpt(where.raw.rstrip()), where.offset))
            else:
                rejects += tail.parser.feed(value, where)
        return rejects, records.offset, records.line
