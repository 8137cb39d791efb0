"""A console reading beside a live `collect --follow` on a large store.

A batch of events costs more as the store grows (the events key is merged and written out at
every release: 5,000 events into 4M took 1.2 s, 0.8 s of it the checkpoint). The follower
waits four times as long as its writes held the store before it looks again (collectors.live
BACKOFF), so a reader finds the store free most of the time. The baseline is the same reader
on the same store with nothing else running, measured in the same run.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
from bench_ingest import events_file
from benchkit import fresh

from collectors import ingest_paths
from queries import Store

RATE = 2_000  # events a second appended to the followed file
SECONDS = 60.0
EVERY = 0.5  # the reader asks this often, as a console's queries come


def store_of_4m(estate: Path, work: Path) -> Path:
    """A store holding the 2M-event file twice (the second time under ids of its own)."""
    path = fresh(work / "follow-4m.duckdb")
    store = Store(path)
    ingest_paths(store, [events_file(estate, work)])
    with store.writing() as cursor:
        cursor.execute("INSERT INTO events SELECT * REPLACE (event_id || '-b' AS event_id) FROM events")
    return path


def reads(path: Path, seconds: float, stop: threading.Event | None = None) -> list[float]:
    """Seconds each read waited and took (attach, count the events, let go), one every EVERY."""
    store = Store(path)
    waits: list[float] = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends and not (stop and stop.is_set()):
        started = time.monotonic()
        with store.reading(timeout=30) as cursor:
            cursor.execute("SELECT count(*) FROM events").fetchone()
        waits.append(time.monotonic() - started)
        time.sleep(max(0.0, EVERY - (time.monotonic() - started)))
    return waits


def feed(target: Path, source: Path, seconds: float) -> int:
    """Append RATE events a second (lines of `source` under new ids) for `seconds`; how many."""
    tag = str(time.time_ns()).encode()
    written, began = 0, time.monotonic()
    with source.open("rb") as lines, target.open("ab", buffering=0) as out:
        while (elapsed := time.monotonic() - began) < seconds:
            due = int(elapsed * RATE) - written
            out.write(b"".join(next(lines).replace(b'"id":"', b'"id":"f-%s-%d-' % (tag, written + n), 1)
                               for n in range(due)))
            written += due
            time.sleep(0.05)
    return written


def summary(waits: list[float]) -> str:
    ordered = sorted(waits)
    return (f"{len(waits)} reads, median {statistics.median(ordered):.3f} s, "
            f"p90 {ordered[int(len(ordered) * 0.9)]:.3f} s, max {ordered[-1]:.3f} s")


def test_a_reader_beside_a_follower_on_a_4m_event_store(estate: Path, work: Path) -> None:
    path = store_of_4m(estate, work)
    alone = reads(path, 20.0)
    target = work / "follow-feed.jsonl"
    target.unlink(missing_ok=True)
    target.touch()
    collector = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "collect", "--follow", str(target), "--db", str(path),
         "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "BACKROOM_HOME": str(work / "follow-home")},
        cwd=Path(__file__).resolve().parents[2])
    fed: list[int] = []
    feeder = threading.Thread(target=lambda: fed.append(feed(target, events_file(estate, work), SECONDS)))
    feeder.start()
    beside = reads(path, SECONDS)
    feeder.join()
    collector.send_signal(signal.SIGINT)
    out, _ = collector.communicate(timeout=120)
    stored = orjson.loads(out)["rows"]["events"]
    print(f"\n== A reader every {EVERY} s beside `collect --follow` fed {RATE:,} events/s for "
          f"{SECONDS:.0f} s, store of 4M events")
    print(f"  alone (baseline):        {summary(alone)}")
    print(f"  beside the follower:     {summary(beside)}")
    print(f"  median wait {statistics.median(beside) / statistics.median(alone):.1f}x the baseline's; "
          f"reads done {len(beside) / (SECONDS / EVERY):.2f} of those asked; "
          f"events fed {fed[0]:,}, stored {stored:,}")
