"""BatchWriter: batches written in order on one thread, at most `depth` handed over at once, and
nothing written after a failed write."""

from __future__ import annotations

import threading

import pytest

from collectors.units import Batch, BatchWriter


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

