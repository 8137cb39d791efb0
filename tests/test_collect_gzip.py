"""A gzip CloudEvents file is unpacked beside the store for the DuckDB fast path: the rows,
rejects, counts and ingest log of the Python path over the gzip stream, and no copy left."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest

from collectors import detect, fastpath, ingest_paths
from collectors.reports import IngestReport
from queries import Store
from queries.policy import Policy, load

EVENTS = ("event_id, source, type, state, system, channel, order_id, order_name, store_id, sku, "
          "quantity, amount, occurred_at, recorded_at, trace_id, traceparent_valid, "
          "payload::VARCHAR, ingest_id IS NOT NULL")
REJECTS = "source, line, byte_offset, reason, excerpt"
LOG = ("source, format, identity, offset_from, offset_to, lines, rows_written::VARCHAR, rejects, "
       "skipped_duplicates, finished_at IS NOT NULL")


class Usage(NamedTuple):  # what shutil.disk_usage gives
    total: int
    used: int
    free: int


@pytest.fixture
def policy() -> Policy:
    return load()


def event(n: int, **fields: Any) -> bytes:
    return orjson.dumps({
        "specversion": "1.0", "id": f"e{n}", "source": "/pos/store/0042",
        "type": "order.captured", "subject": f"SO-{n}", "time": "2026-01-01T10:00:00Z",
        "traceparent": f"00-{n:032x}-{n:016x}-01", "data": {"store_id": "0042", "amount": n},
        **fields})


def messy_gzip(path: Path) -> Path:
    """Good events with a broken line, a Latin-1 line, a batch array, a repeated event and
    data_base64: lines the SQL takes and lines it leaves to Python."""
    lines = [event(n) for n in range(1, 40)]
    lines[5] = b'{"specversion":"1.0","id":'
    lines[9] = event(10).replace(b'"type":"', b'"type":"\xe9', 1)
    lines[14] = b"[" + event(100) + b"," + event(101) + b"]"
    lines[20] = event(3)
    lines[25] = event(26, data_base64="eyJhIjoxfQ==")
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return path


def stored(store: Store) -> tuple[list[Any], list[Any], list[Any]]:
    with store.reading() as cursor:
        return tuple(cursor.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
                     for columns, table in ((EVENTS, "events"), (REJECTS, "rejects"),
                                            (LOG, "ingest_log")))  # type: ignore[return-value]


def counts(report: IngestReport) -> tuple[int, int, int, int]:
    return report.records, report.rows["events"], report.skipped_duplicates, report.rejects


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob(".backroom-unpacked-*"))


def test_a_gzip_file_goes_through_the_fast_path_with_the_python_path_s_results(
        tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    source = messy_gzip(tmp_path / "events.jsonl.gz")
    read: list[Path] = []
    load_events = fastpath.load_events

    def spy(cursor: Any, path: Path, *args: Any) -> Any:
        read.append(path)
        return load_events(cursor, path, *args)

    monkeypatch.setattr(fastpath, "load_events", spy)
    fast_store, slow_store = Store.at(tmp_path / "fast.duckdb"), Store.at(tmp_path / "slow.duckdb")

    fast = ingest_paths(fast_store, [source], policy=policy)
    slow = ingest_paths(slow_store, [source], policy=policy, fast_path=False)

    assert len(read) == 1 and read[0].parent == tmp_path and read[0] != source
    assert stored(fast_store) == stored(slow_store)
    assert counts(fast) == counts(slow) == (40, 37, 1, 2)
    assert {reject[0] for reject in stored(fast_store)[1]} == {str(source)}
    assert leftovers(tmp_path) == []


def test_an_unchanged_gzip_file_is_not_unpacked_again(
        tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    source = messy_gzip(tmp_path / "events.jsonl.gz")
    store = Store.at(tmp_path / "store.duckdb")
    ingest_paths(store, [source], policy=policy)
    unpacked: list[Path] = []
    monkeypatch.setattr(detect, "unpacked", lambda path, folder: unpacked.append(path))

    again = ingest_paths(store, [source], policy=policy)

    assert again.sources[0].unchanged and unpacked == []


@pytest.mark.parametrize("why", ["corrupt", "disk nearly full"])
def test_a_gzip_file_that_cannot_be_unpacked_is_read_by_python_as_before(
        tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    source = messy_gzip(tmp_path / "events.jsonl.gz")
    if why == "corrupt":
        source.write_bytes(source.read_bytes()[:-30])  # the end of the stream is gone
    else:
        monkeypatch.setattr(detect, "UNPACK_RESERVE", 1 << 62)
    fast_store, slow_store = Store.at(tmp_path / "fast.duckdb"), Store.at(tmp_path / "slow.duckdb")

    fast = ingest_paths(fast_store, [source], policy=policy)
    slow = ingest_paths(slow_store, [source], policy=policy, fast_path=False)

    assert stored(fast_store) == stored(slow_store)
    assert counts(fast) == counts(slow)
    if why == "corrupt":
        assert any("corrupt gzip" in reject[3] for reject in stored(fast_store)[1])
    assert leftovers(tmp_path) == []


def test_the_unpacked_copy_is_removed_when_the_ingest_is_interrupted(
        tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    source = messy_gzip(tmp_path / "events.jsonl.gz")
    seen: list[Path] = []

    def interrupted(cursor: Any, path: Path, *args: Any) -> Any:
        seen.append(path)
        assert path.exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(fastpath, "load_events", interrupted)

    with pytest.raises(KeyboardInterrupt):
        ingest_paths(Store.at(tmp_path / "store.duckdb"), [source], policy=policy)

    assert len(seen) == 1 and not seen[0].exists() and leftovers(tmp_path) == []


def test_a_gzip_file_in_a_followed_folder_is_named_as_not_followed_and_nothing_rejected(
        tmp_path: Path, policy: Policy) -> None:
    """logrotate's `compress` leaves `app.log.1.gz` beside the live file: the follower read its
    bytes as a binary format it did not know ("OTLP protobuf ... not supported")."""
    from collectors.follow import Follower
    from collectors.live import LiveWriter, SourceStats
    from collectors.spool import Spool

    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "app.log").write_bytes(b"".join(event(n) + b"\n" for n in range(1, 6)))
    messy_gzip(folder / "app.log.1.gz")
    store = Store.at(tmp_path / "store.duckdb")
    stats = SourceStats(f"follow {folder}", "follow")
    tail = Follower([(folder, stats)], LiveWriter(store, Spool(tmp_path / "spool")), policy)

    assert tail.poll() == 5

    assert stats.error == (f"{folder / 'app.log.1.gz'}: gzip-compressed, so not followed (a "
                           f"rotated log?); 'backroom ingest {folder / 'app.log.1.gz'}' reads it once")
    with store.reading() as cursor:
        assert cursor.execute("SELECT count(*) FROM rejects").fetchone() == (0,)


@pytest.mark.parametrize(("spare", "unpacked"), [(-1, False), (8 * 1024 * 1024, True)])
def test_unpacking_keeps_room_for_the_store_to_grow_by_the_content(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spare: int, unpacked: bool) -> None:
    """A disk cannot be filled here: its free space is what `shutil.disk_usage` reads, so the
    reading is given. Unpacking must leave 1 GiB free beyond as much again as the content."""
    source = messy_gzip(tmp_path / "events.jsonl.gz")
    size = len(gzip.decompress(source.read_bytes()))
    free = detect.UNPACK_RESERVE + size + spare
    monkeypatch.setattr(detect.shutil, "disk_usage",
                        lambda folder: Usage(total=free * 2, used=free, free=free))

    copy = detect.unpacked(source, tmp_path)

    assert (copy is not None) == unpacked
    assert leftovers(tmp_path) == ([copy] if copy is not None else [])
    if copy is not None:
        assert copy.read_bytes() == gzip.decompress(source.read_bytes())
