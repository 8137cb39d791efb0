"""`backroom demo`: generate the demo estate as real files and ingest them through the collectors."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from collectors import ingest_paths
from collectors.demo import generate
from queries import Store, meta
from queries.errors import StoreBusy, StoreIncompatible

try:
    import fcntl
except ImportError:  # not a POSIX system: builds are not kept apart
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class DemoBuilt:
    """What the demo put into the store, and how long each half took."""

    db: Path
    estate_dir: Path
    counts: dict[str, int]
    rejects: int
    generate_seconds: float
    ingest_seconds: float

    def summary(self) -> str:
        c = self.counts
        return (
            f"demo estate: {c['orders']:,} orders, {c['events']:,} events, {c['spans']:,} spans, "
            f"{c['dlq_messages']:,} dead letters, {self.rejects:,} rejects "
            f"in {self.generate_seconds + self.ingest_seconds:.1f} s "
            f"(generate {self.generate_seconds:.1f} s, ingest {self.ingest_seconds:.1f} s) -> {self.db}"
        )


def build(db: Path, orders: int, seed: int, now: datetime | None = None) -> DemoBuilt:
    """Build a fresh demo store at `db`, replacing an earlier demo store but never real data."""
    with _building_alone(db):
        return _build(db, orders, seed, now)


@contextmanager
def _building_alone(db: Path) -> Iterator[None]:
    """One demo build per folder at a time: two would write the same estate and building file.

    The lock is an flock on the folder itself, so nothing is left beside the store."""
    folder = db.parent  # "." for a bare file name
    if fcntl is None:
        yield
        return
    handle = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreBusy(f"another backroom demo is building in {folder.resolve()}; wait for it "
                            "to finish, or pass --db to build in another folder") from None
        yield
    finally:
        os.close(handle)


def _build(db: Path, orders: int, seed: int, now: datetime | None) -> DemoBuilt:
    _refuse_real_data(db)
    estate_dir = db.parent / "demo-estate"
    if estate_dir.exists():
        shutil.rmtree(estate_dir)
    building = db.with_name(db.name + ".building")
    _remove_store_files(building, turnstile=True)

    started = time.perf_counter()
    generate(estate_dir, orders=orders, seed=seed, now=now)
    generated = time.perf_counter()
    store = Store.at(building)
    # manifest.json is the generator's ground truth for tests, not an input a collector reads
    report = ingest_paths(store, [estate_dir / part for part in ("traces", "events", "dlq")])
    with store.writing() as cursor:
        if now is not None:  # a demo frozen at `now` was ingested then, as far as it can tell
            cursor.execute("UPDATE rejects SET rejected_at = $now", {"now": now})
        meta.put(cursor, meta.ORIGIN_KEY, meta.DEMO_ORIGIN)
        meta.put(cursor, "demo_seed", str(seed))
        counts = meta.counts(cursor)
    ingested = time.perf_counter()

    _remove_store_files(db)
    os.replace(building, db)
    _remove_store_files(building, turnstile=True)  # its turnstile: no one waits for it now
    return DemoBuilt(db, estate_dir, counts, report.rejects, generated - started, ingested - generated)


def _refuse_real_data(db: Path) -> None:
    if not db.exists():
        return
    with Store.at(db).reading() as cursor:
        demo = meta.is_demo(cursor)
    if not demo:
        raise StoreIncompatible(
            f"{db} holds data that backroom demo did not make; pass --db to build the demo elsewhere"
        )


def _remove_store_files(db: Path, *, turnstile: bool = False) -> None:
    """Remove a store and its WAL; its turnstile too when asked (a console waiting on a store
    that is replaced keeps the turnstile it holds, so the real store's is left in place)."""
    files = Store.at(db).own_files
    for path in files if turnstile else files[:2]:
        path.unlink(missing_ok=True)
