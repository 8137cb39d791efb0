"""Following files: new lines only, across rotation and truncation, resuming after a restart."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from collectors import follow, ingest_paths
from collectors.follow import Follower
from collectors.live import LiveWriter, SourceStats
from collectors.spool import Spool
from queries import Store, policy
from tests.estate import hold, release


def event(number: int) -> bytes:
    return orjson.dumps({
        "specversion": "1.0", "id": f"e-{number}", "source": "/pos/store/0042",
        "type": "order.captured", "subject": f"o-{number}", "time": "2026-01-01T10:00:00Z",
        "data": {"order_id": f"o-{number}", "store_id": "0042"}}) + b"\n"


def append(path: Path, numbers: range) -> None:
    with path.open("ab") as handle:
        handle.write(b"".join(event(n) for n in numbers))


def follower(store: Store, tmp_path: Path, target: Path) -> Follower:
    writer = LiveWriter(store, Spool(tmp_path / "spool"))
    return Follower([(target, SourceStats(f"follow {target}", "follow"))], writer, policy.load())


def stored_ids(store: Store) -> list[str]:
    with store.reading() as cursor:
        return [row[0] for row in cursor.execute(
            "SELECT event_id FROM events ORDER BY event_id").fetchall()]


def expected(numbers: range) -> list[str]:
    return sorted(f"e-{n}" for n in numbers)


def test_new_lines_only_and_a_partial_line_waits(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    append(log, range(3))
    tail = follower(store, tmp_path, log)
    assert tail.poll() == 3
    with log.open("ab") as handle:
        handle.write(event(3)[:40])  # the writer is half-way through a line
    assert tail.poll() == 0
    with log.open("ab") as handle:
        handle.write(event(3)[40:])
    assert tail.poll() == 1
    assert stored_ids(store) == expected(range(4))
    assert tail.targets[0][1].skipped_duplicates == 0


def test_rotation_by_rename_loses_and_repeats_nothing(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    append(log, range(5))
    tail = follower(store, tmp_path, log)
    tail.poll()
    append(log, range(5, 7))  # written just before the rotation, not yet read
    os.rename(log, tmp_path / "events.jsonl.1")
    append(log, range(7, 10))  # the new file at the same path
    tail.poll()
    append(log, range(10, 12))
    tail.poll()
    assert stored_ids(store) == expected(range(12))
    assert tail.targets[0][1].skipped_duplicates == 0


def test_a_rotated_file_with_more_than_a_batch_unread_is_read_to_its_end(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A follower behind by more than a read when the log rotated read one more and let the
    # rest of the old file go (8 MB: a store held by a 30 s ingest was enough).
    monkeypatch.setattr(follow, "CHUNK", 256)
    monkeypatch.setattr(follow, "BATCH_BYTES", 1024)
    log = tmp_path / "events.jsonl"
    append(log, range(5))
    tail = follower(store, tmp_path, log)
    while tail.poll():
        pass
    append(log, range(5, 45))  # about 6 kB, six batches, unread when the log rotates
    os.rename(log, tmp_path / "events.jsonl.1")
    append(log, range(45, 48))
    while tail.poll():
        pass
    assert stored_ids(store) == expected(range(48)) and not tail.tails.keys() - {
        (os.stat(log).st_dev, os.stat(log).st_ino)}


def test_a_rotated_file_waits_for_a_busy_store_instead_of_being_let_go(
        store: Store, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    append(log, range(3))
    writer = LiveWriter(store, Spool(tmp_path / "spool"), busy_timeout=0.1)
    tail = Follower([(log, SourceStats("follow", "follow"))], writer, policy.load())
    tail.poll()
    append(log, range(3, 6))
    os.rename(log, tmp_path / "events.jsonl.1")
    append(log, range(6, 8))
    holder = hold(store.path)
    try:
        assert tail.poll() == 0  # the old file's last lines could not be stored: kept for later
    finally:
        release(holder)
    while tail.poll():
        pass
    assert stored_ids(store) == expected(range(8))


def test_a_rotated_file_the_busy_store_cannot_take_when_the_follower_stops_is_spooled(
        store: Store, tmp_path: Path) -> None:
    # Following a file path, the old file is not read again by a later run: it was lost.
    log = tmp_path / "events.jsonl"
    append(log, range(3))
    writer = LiveWriter(store, Spool(tmp_path / "spool"), busy_timeout=0.1)
    stats = SourceStats("follow", "follow")
    tail = Follower([(log, stats)], writer, policy.load())
    tail.poll()
    append(log, range(3, 6))
    os.rename(log, tmp_path / "events.jsonl.1")
    stop = threading.Event()
    stop.set()  # stopped (SIGTERM) right after the rotation, while another process has the store
    holder = hold(store.path)
    try:
        tail.run(stop)
    finally:
        release(holder)
    assert stats.spooled_rows == 3 and not tail.tails
    writer.import_spool()  # as `collect` does on its way out, or the next writer
    assert stored_ids(store) == expected(range(6))


def test_copytruncate_in_a_followed_folder_loses_nothing(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    log = folder / "events.jsonl"
    append(log, range(5))
    tail = follower(store, tmp_path, folder)
    tail.poll()
    append(log, range(5, 8))  # written after the follower's last look
    shutil.copyfile(log, folder / "events.jsonl.1")  # logrotate's copytruncate
    with log.open("r+b") as handle:
        handle.truncate(0)
    append(log, range(8, 10))
    while tail.poll():
        pass
    assert stored_ids(store) == expected(range(10))
    assert tail.targets[0][1].skipped_duplicates == 5  # the copy's lines stored before


def test_truncation_starts_the_file_again(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    append(log, range(5))
    tail = follower(store, tmp_path, log)
    tail.poll()
    with log.open("wb") as handle:  # copytruncate-style rotation
        handle.write(event(100) + event(101))
    tail.poll()
    assert stored_ids(store) == sorted(expected(range(5)) + ["e-100", "e-101"])


def test_a_restart_resumes_from_the_stored_checkpoint(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    append(folder / "a.jsonl", range(4))
    append(folder / "b.jsonl", range(50, 52))
    first = follower(store, tmp_path, folder)
    first.poll()
    first.close()
    append(folder / "a.jsonl", range(4, 6))  # written while nothing was following
    second = follower(store, tmp_path, folder)  # a new process: only the store remembers
    assert second.poll() == 2
    stats = second.targets[0][1]
    assert (stats.rows["events"], stats.skipped_duplicates, stats.rejects) == (2, 0, 0)
    assert stored_ids(store) == expected(range(6)) + ["e-50", "e-51"]
    with store.reading() as cursor:
        assert cursor.execute("SELECT count(*) FROM orders").fetchone() == (8,)  # rollups follow


def test_a_bad_line_is_rejected_for_the_reason_ingest_gives(store: Store, tmp_path: Path) -> None:
    # `collect --follow` and `ingest` must give the on-call engineer the same words.
    bad = [b'{"specversion":"1.0","id":"b","sou\n', b'{"id": "x\x00"}\n', b"[1, 2,\n"]
    log = tmp_path / "events.jsonl"
    append(log, range(1))
    with log.open("ab") as handle:
        handle.write(b"".join(bad))
    follower(store, tmp_path, log).poll()
    other = Store.at(tmp_path / "ingested.duckdb")
    ingest_paths(other, [log], policy=policy.load())

    def reasons(of: Store) -> list[tuple[int, str]]:
        with of.reading() as cursor:
            return cursor.execute("SELECT line, reason FROM rejects ORDER BY line").fetchall()
    assert reasons(store) == reasons(other)
    assert [reason for _, reason in reasons(store)][:1] == ["invalid JSON: unexpected end of data (column 35)"]


def big_event(number: int, size: int) -> bytes:
    """An event line of about `size` bytes (a long note in its data)."""
    line = orjson.loads(event(number))
    line["data"]["note"] = "x" * size
    return orjson.dumps(line) + b"\n"


def test_a_line_longer_than_a_read_does_not_stop_the_file(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The follower read 8 MB a poll; a longer line (ingest takes up to 64 MB) held it there.
    monkeypatch.setattr(follow, "BATCH_BYTES", follow.CHUNK)  # a poll reads 32 MB now
    log = tmp_path / "events.jsonl"
    log.write_bytes(big_event(0, 9 * 1024 * 1024)[:-1])
    tail = follower(store, tmp_path, log)
    assert tail.poll() == 0  # no line end yet: the writer is still on it
    with log.open("ab") as handle:
        handle.write(b"\n" + event(1))
    assert tail.poll() + tail.poll() == 2  # the long line, then the rest
    assert stored_ids(store) == expected(range(2))


@pytest.mark.parametrize(("size", "limit"), [(2 << 20, 1 << 20),  # inside one read
                                             (9 << 20, 17 << 19)])  # past one read (8 MB)
def test_a_line_past_the_limit_is_rejected_and_the_rest_read(
        store: Store, tmp_path: Path, size: int, limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "BATCH_BYTES", follow.CHUNK)
    log = tmp_path / "events.jsonl"
    append(log, range(1))
    with log.open("ab") as handle:
        handle.write(big_event(1, size) + event(2))
    writer = LiveWriter(store, Spool(tmp_path / "spool"))
    tail = Follower([(log, SourceStats("follow", "follow"))], writer, policy.load(), max_line=limit)
    while tail.poll():
        pass
    assert stored_ids(store) == ["e-0", "e-2"]
    with store.reading() as cursor:
        assert cursor.execute("SELECT line, byte_offset, reason FROM rejects").fetchall() == [
            (2, len(event(0)), f"line longer than {limit:,} bytes")]


class Waits(threading.Event):
    """A stop event that records how long the follower waits, and stops it after `polls` polls."""

    def __init__(self, polls: int, between: Callable[[int], None] = lambda _: None) -> None:
        super().__init__()
        self.polls, self.between, self.waited = polls, between, []

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.append(timeout)
        self.between(len(self.waited))
        if len(self.waited) >= self.polls:
            self.set()
        return self.is_set()


class Clock:
    """Simulated time: the follower's waits move it on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def writes(store: Store) -> int:
    with store.reading() as cursor:
        return int(cursor.execute("SELECT count(*) FROM ingest_log").fetchone()[0])


def test_a_follower_writes_again_four_times_as_long_after_its_batches_held_the_store(
        store: Store, tmp_path: Path) -> None:
    """On a large store each batch of events holds it longer (1.2 s for 5,000 events into 4M, the
    key written out at every release): a follower that wrote again 0.2 s later held it 85% of
    the time, and a console sharing it waited on most of its queries."""
    log = tmp_path / "events.jsonl"
    append(log, range(3))
    ticks = iter(range(0, 1000, 3))  # every look at the writer's clock is 3 s after the one before
    writer = LiveWriter(store, Spool(tmp_path / "spool"), clock=lambda: float(next(ticks)))
    clock = Clock()
    tail = Follower([(log, SourceStats("follow", "follow"))], writer, policy.load(), clock=clock)
    seen: dict[int, tuple[list[str], int, bool]] = {}

    def between(polls: int) -> None:
        clock.now = round(polls * 0.2, 1)
        if polls == 2:
            append(log, range(3, 5))
        if polls in (30, 59):  # before the next write is due (a batch held the store 3 s: 12 s)
            seen[polls] = (stored_ids(store), writes(store),
                           next(iter(tail.tails.values())).ahead_to is not None)

    stop = Waits(62, between)
    tail.run(stop, interval=0.2)
    assert set(stop.waited) == {0.2}  # the files are still looked at every interval
    # the new lines were parsed ahead, and stored only once the rest was over, in one write
    assert seen[30] == seen[59] == (expected(range(3)), 1, True)
    assert stored_ids(store) == expected(range(5)) and writes(store) == 2


def test_copytruncate_while_the_follower_rests_loses_nothing(store: Store, tmp_path: Path) -> None:
    # Following the file alone, lines written during the rest and copied away by logrotate's
    # copytruncate were lost: the follower read them only after the rest, from the emptied file.
    log = tmp_path / "events.jsonl"
    append(log, range(5))
    ticks = iter(range(0, 1000, 3))
    writer = LiveWriter(store, Spool(tmp_path / "spool"), clock=lambda: float(next(ticks)))
    clock = Clock()
    tail = Follower([(log, SourceStats("follow", "follow"))], writer, policy.load(), clock=clock)

    def between(polls: int) -> None:
        clock.now = round(polls * 0.2, 1)
        if polls == 2:
            append(log, range(5, 8))
        if polls == 4:  # copied away and truncated, well inside the 12 s rest
            shutil.copyfile(log, tmp_path / "events.jsonl.1")
            with log.open("r+b") as handle:
                handle.truncate(0)
            append(log, range(8, 10))

    stop = Waits(8, between)
    tail.run(stop, interval=0.2)
    assert stored_ids(store) == expected(range(10))


def test_lines_parsed_ahead_of_a_truncation_are_spooled_while_the_store_is_busy(
        store: Store, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    append(log, range(5))
    ticks = iter(range(0, 1000, 3))
    writer = LiveWriter(store, Spool(tmp_path / "spool"), busy_timeout=0.1,
                        clock=lambda: float(next(ticks)))
    clock = Clock()
    stats = SourceStats("follow", "follow")
    tail = Follower([(log, stats)], writer, policy.load(), clock=clock)
    holders = []

    def between(polls: int) -> None:
        clock.now = round(polls * 0.2, 1)
        if polls == 2:
            append(log, range(5, 8))
        if polls == 4:
            with log.open("r+b") as handle:
                handle.truncate(0)
            append(log, range(8, 10))
            holders.append(hold(store.path))
        if polls == 6:
            release(holders.pop())

    stop = Waits(8, between)
    try:
        tail.run(stop, interval=0.2)
    finally:
        for holder in holders:
            release(holder)
    assert stats.spooled_rows == 3  # the file no longer holds them
    writer.import_spool()
    assert stored_ids(store) == expected(range(10))


def test_a_follower_behind_reads_on_at_once_in_batches_of_batch_bytes(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "CHUNK", 256)
    monkeypatch.setattr(follow, "BATCH_BYTES", 1024)
    log = tmp_path / "events.jsonl"
    append(log, range(40))  # about 6 kB
    ticks = iter(range(1000))
    writer = LiveWriter(store, Spool(tmp_path / "spool"), clock=lambda: float(next(ticks)))
    tail = Follower([(log, SourceStats("follow", "follow"))], writer, policy.load())
    stop = Waits(20)
    tail.run(stop, interval=0.2)
    behind = stop.waited.index(0.2)  # the first wait: caught up
    assert set(stop.waited[:behind]) == {0}  # no wait while more was there
    with store.reading() as cursor:
        batches = cursor.execute("SELECT count(*) FROM ingest_log").fetchone()[0]
        sizes = cursor.execute("SELECT max(offset_to - offset_from) FROM ingest_log").fetchone()[0]
    assert batches == behind + 1 and sizes <= 1024 and stored_ids(store) == expected(range(40))


def test_lines_parsed_ahead_stay_within_one_batch(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "CHUNK", 256)
    monkeypatch.setattr(follow, "BATCH_BYTES", 1024)
    log = tmp_path / "events.jsonl"
    tail = follower(store, tmp_path, log)
    append(log, range(40))  # about 6 kB written while the follower rests
    for _ in range(5):
        tail.poll(write=False)
    (waiting,) = tail.tails.values()
    assert waiting.ahead_to is not None and 0 < waiting.ahead_to - waiting.offset <= 1024
    assert tail.behind  # a batch waits: the next poll writes
    while tail.poll():
        pass
    assert stored_ids(store) == expected(range(40))
