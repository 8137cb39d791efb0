"""BatchWriter: batches written in order on one thread, at most `depth` handed over at once, and
nothing written after a failed write; `watched`: a long statement reports progress and stops on
Ctrl-C."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from collectors import fastpath
from collectors.units import Batch, BatchWriter, watched
from queries import Store


def batch(number: int) -> Batch:
    return Batch(None, None, [], offset=number, lines=number)


def test_batches_are_written_in_order_with_at_most_depth_waiting() -> None:
    written: list[int] = []
    handed_over = 0
    most_waiting = 0
    second_handed_over = threading.Event()

    def write(item: Batch) -> None:
        nonlocal most_waiting
        if item.offset == 1:
            # Hold the first write until a second batch is queued behind it, so the queue fills.
            assert second_handed_over.wait(timeout=10)
        most_waiting = max(most_waiting, handed_over - len(written))
        written.append(item.offset)

    with BatchWriter(write, depth=2) as writer:
        for number in range(1, 9):
            writer.submit(batch(number))
            handed_over += 1
            if number == 2:
                second_handed_over.set()
    assert written == list(range(1, 9))
    assert most_waiting == 2  # the queue filled, and never held more than its depth


def test_a_failed_write_stops_the_batches_behind_it_and_its_error_reaches_the_caller() -> None:
    written: list[int] = []
    queued_behind = threading.Event()

    def write(item: Batch) -> None:
        if item.offset == 3:
            assert queued_behind.wait(timeout=10)  # batch 4 is waiting behind this one
            raise OSError("disk full")
        written.append(item.offset)

    with pytest.raises(OSError, match="disk full"), BatchWriter(write, depth=2) as writer:
        for number in range(1, 10):
            writer.submit(batch(number))
            if number == 4:
                queued_behind.set()
    assert written == [1, 2]  # batch 4 was handed over before 3 failed, and not written


def test_the_callers_own_error_wins_and_the_writes_in_flight_end_first() -> None:
    written: list[int] = []

    def write(item: Batch) -> None:
        written.append(item.offset)

    with pytest.raises(ValueError, match="parser broke"), BatchWriter(write) as writer:
        writer.submit(batch(1))
        writer.submit(batch(2))
        raise ValueError("parser broke")
    assert written == [1, 2]


def lines_file(tmp_path: Path) -> Path:
    """About 50 MB of JSON lines."""
    lines = tmp_path / "lines.jsonl"
    lines.write_bytes(b"".join(b'{"n":%d,"pad":"%s"}\n' % (n, b"x" * 60) for n in range(600_000)))
    return lines


def test_a_watched_statement_reports_its_progress_while_it_runs(tmp_path: Path) -> None:
    cursor = duckdb.connect().cursor()
    cursor.execute(fastpath.sql("fastpath_macros"))  # read as the fast path reads a file
    seen: list[float] = []

    counted = watched(cursor, lambda: cursor.execute(
        "SELECT count(*) FROM fastpath_lines($path, 4096) WHERE json_extract(line, '$.n')::INT "
        "% 7 = 0", {"path": str(lines_file(tmp_path))}).fetchone(),
        progress=seen.append, every=0.001)

    assert counted == (85_715,)
    assert seen and all(0 <= done <= 100 for done in seen)
    assert seen == sorted(seen)


def test_ctrl_c_while_a_statement_runs_stops_it_at_once(tmp_path: Path, store: Store) -> None:
    path = lines_file(tmp_path)
    finished: list[bool] = []

    def interrupt(done: float) -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises in the waiting thread

    def work() -> None:  # one statement that would run for many minutes
        cursor.execute(fastpath.sql("fastpath_macros"))
        cursor.execute("INSERT INTO rejects (source, line, reason, rejected_at) "
                       "SELECT 'bulk', k, line, now() FROM fastpath_lines($path, 4096), "
                       "range(100000) AS r(k) WHERE hash(line, k) % 1000 = 0",
                       {"path": str(path)})
        finished.append(True)

    with pytest.raises(KeyboardInterrupt), store.writing() as cursor:
        watched(cursor, work, progress=interrupt, every=0.01)

    assert finished == []  # interrupted, not waited for
    with store.reading() as cursor:
        assert cursor.execute("SELECT count(*) FROM rejects").fetchone() == (0,)


def test_a_watched_statement_that_gives_up_leaves_progress_tracking_off() -> None:
    # The fast path raises when it gives a file to the Python path, which goes on on this cursor.
    cursor = duckdb.connect().cursor()

    def give_up() -> None:
        cursor.execute("SELECT 1").fetchall()
        raise fastpath.LayoutChanged("the Python path reads the file")

    with pytest.raises(fastpath.LayoutChanged):
        watched(cursor, give_up, progress=lambda done: None)

    assert cursor.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
