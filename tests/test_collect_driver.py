"""The ingest driver: detection by content, folders, reports, the ingest log, gzip, rollups, spool."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectors import (
    IngestReport,
    SourceUnreadable,
    UnsupportedFormat,
    ingest_paths,
)
from queries import BackroomError, Store
from queries.policy import Policy, load

FIXTURES = Path(__file__).parent / "fixtures" / "collect"


@pytest.fixture
def policy() -> Policy:
    return load()


def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


def event(event_id: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": "/pos/store/0042",
            "type": "order.captured", "subject": "SO-1", "time": "2026-01-01T10:00:00Z"}


def events_file(path: Path, count: int, bad_every: int = 0) -> Path:
    lines = []
    for n in range(1, count + 1):
        broken = bad_every and n % bad_every == 0
        lines.append(b"{broken" if broken else orjson.dumps(event(f"e{n}")))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def otlp_line() -> bytes:
    span = {"traceId": "7a3c9e0f4b2d41c8a1f0e2d3c4b5a697", "spanId": "1f2e3d4c5b6a7980",
            "name": "POST /orders", "kind": 2}
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}) + b"\n"


def test_formats_are_detected_from_content_not_names(store: Store, tmp_path: Path,
                                                     policy: Policy) -> None:
    # The store lives in tmp_path too: ingesting the folder that holds it must skip it.
    (tmp_path / "traces.txt").write_bytes(otlp_line())
    events_file(tmp_path / "spans.json", 2)
    shutil.copy(FIXTURES / "erp.orders.dlq.json", tmp_path / "events.log")

    report = ingest_paths(store, [tmp_path], policy=policy)

    assert {Path(s.path).name: s.format for s in report.sources} == {
        "events.log": "rabbitmq-dlq", "spans.json": "events", "traces.txt": "otlp",
    }
    assert report.rows == {"spans": 1, "events": 2, "dlq_messages": 3}


def test_a_forced_format_reads_the_file_as_that_format(store: Store, tmp_path: Path,
                                                       policy: Policy) -> None:
    path = events_file(tmp_path / "events.jsonl", 3)

    report = ingest_paths(store, [path], fmt="otlp", policy=policy)

    assert (report.rows["spans"], report.rejects) == (0, 3)
    assert query(store, "SELECT DISTINCT reason FROM rejects") == [("no resourceSpans list",)]
    with pytest.raises(UnsupportedFormat, match=r"'avro' is not supported"):
        ingest_paths(store, [path], fmt="avro", policy=policy)


@pytest.mark.parametrize(("content", "reason_start"), [
    (b"hello, this is a plain text file\n", "not JSON"),
    (b'{"name": "a JSON file of no known shape"}\n', "format not recognised"),
    (b'{"resourceLogs": []}\n', "OTLP logs or metrics"),
    (bytes(range(256)) * 4, "binary content"),
    # PowerShell 5's '>' and Out-File write UTF-16 with a byte order mark
    ('{"specversion": "1.0", "id": "e1"}\r\n'.encode("utf-16"), "UTF-16 or UTF-32 text"),
    ('{"specversion": "1.0", "id": "e1"}\n'.encode("utf-16-be"), "UTF-16 or UTF-32 text"),
    ('[{"specversion": "1.0"}]\n'.encode("utf-32"), "UTF-16 or UTF-32 text"),
])
def test_an_undetectable_file_is_one_reject(store: Store, tmp_path: Path, policy: Policy,
                                            content: bytes, reason_start: str) -> None:
    path = tmp_path / "mystery.dat"
    path.write_bytes(content)

    report = ingest_paths(store, [path], policy=policy)

    assert (report.files, report.rejects, sum(report.rows.values())) == (1, 1, 0)
    (line, reason, excerpt), = query(store, "SELECT line, reason, excerpt FROM rejects")
    assert line == 1 and reason.startswith(reason_start) and excerpt
    assert len(excerpt) <= 200 and "\x00" not in excerpt


def test_an_empty_file_is_read_without_complaint(store: Store, tmp_path: Path,
                                                 policy: Policy) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")

    report = ingest_paths(store, [tmp_path / "empty.jsonl"], policy=policy)

    assert (report.files, report.rejects, report.records) == (1, 0, 0)


def test_folders_are_walked_recursively_in_sorted_order(store: Store, tmp_path: Path,
                                                        policy: Policy) -> None:
    for relative in ("b/2.jsonl", "a/z.jsonl", "a/deeper/1.jsonl", "c.jsonl", ".hidden/x.jsonl",
                     "a/.skip.jsonl"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        events_file(path, 1)
        path.write_bytes(orjson.dumps(event(relative)) + b"\n")

    report = ingest_paths(store, [tmp_path], policy=policy)

    assert [Path(s.path).relative_to(tmp_path).as_posix() for s in report.sources] == [
        "c.jsonl", "a/z.jsonl", "a/deeper/1.jsonl", "b/2.jsonl",
    ]  # and not store.duckdb, the store this test writes to


def test_a_missing_or_unreadable_file_raises_a_one_line_error(store: Store, tmp_path: Path,
                                                              policy: Policy) -> None:
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(SourceUnreadable) as raised:
        ingest_paths(store, [missing], policy=policy)
    assert isinstance(raised.value, BackroomError)
    assert str(raised.value) == f"cannot read {missing}: no such file or directory"

    folder = tmp_path / "folder"
    folder.mkdir()
    events_file(folder / "good.jsonl", 1)
    (folder / "dangling.jsonl").symlink_to(tmp_path / "gone.jsonl")
    with pytest.raises(SourceUnreadable, match=r"dangling\.jsonl"):
        ingest_paths(store, [folder], policy=policy)
    assert query(store, "SELECT count(*) FROM events") == [(0,)]  # nothing was half-done


def test_report_json_and_summary_line(store: Store, tmp_path: Path, policy: Policy) -> None:
    events_file(tmp_path / "a.jsonl", 1_500, bad_every=1_000)
    events_file(tmp_path / "b.jsonl", 2)
    (tmp_path / "c.txt").write_bytes(otlp_line())

    report = ingest_paths(store, [tmp_path], policy=policy)
    document = report.to_json()

    assert report.summary_line() == "3 files: 1,500 rows, 1 reject, 2 duplicates skipped"
    assert {"files", "rows", "rejects", "skipped_duplicates"} <= document.keys()
    assert (document["files"], document["rejects"], document["skipped_duplicates"]) == (3, 1, 2)
    assert document["rows"] == {"spans": 1, "events": 1_499, "dlq_messages": 0}
    assert json.loads(json.dumps(document)) == document
    assert document["reject_samples"][0]["line"] == 1_000


def test_the_ingest_log_records_each_file(store: Store, tmp_path: Path, policy: Policy) -> None:
    path = events_file(tmp_path / "events.jsonl", 5, bad_every=5)

    ingest_paths(store, [path], policy=policy)

    (source, fmt, identity, offset_from, offset_to, lines, rows, rejects, duplicates, finished), = \
        query(store, "SELECT source, format, identity, offset_from, offset_to, lines, "
                     "rows_written, rejects, skipped_duplicates, finished_at IS NOT NULL "
                     "FROM ingest_log")
    size = path.stat().st_size
    assert (source, fmt, offset_from, offset_to, lines) == (str(path), "events", 0, size, 5)
    assert identity.startswith(f"{size}:sha256:")
    assert json.loads(rows) == {"spans": 0, "events": 4, "dlq_messages": 0}
    assert (rejects, duplicates, finished) == (1, 0, True)
    assert query(store, "SELECT ingest_id IS NOT NULL, line FROM rejects") == [(True, 5)]


def test_gzip_files_are_read_transparently(store: Store, tmp_path: Path, policy: Policy) -> None:
    path = tmp_path / "events.jsonl.gz"
    lines = b"".join(orjson.dumps(event(f"g{n}")) + b"\n" for n in range(3))
    path.write_bytes(gzip.compress(lines))

    report = ingest_paths(store, [path], policy=policy)

    assert (report.sources[0].format, report.rows["events"]) == ("events", 3)


def test_report_is_a_dataclass_with_the_documented_fields() -> None:
    empty = IngestReport()
    assert empty.summary_line() == "0 files: 0 rows, 0 rejects, 0 duplicates skipped"
    assert empty.to_json()["rows"] == {"spans": 0, "events": 0, "dlq_messages": 0}


def test_ingest_keeps_the_order_rollups_and_the_search_index_current(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    from queries import search

    paid = dict(event("p1"), type="payment.authorized", time="2026-01-01T10:01:00Z")
    (tmp_path / "events.jsonl").write_bytes(orjson.dumps(event("c1")) + b"\n"
                                            + orjson.dumps(paid) + b"\n")
    shutil.copy(FIXTURES / "erp.orders.dlq.json", tmp_path / "erp.orders.dlq.json")

    ingest_paths(store, [tmp_path], policy=policy)

    assert query(store, "SELECT order_id, state, events FROM orders") == [
        ("SO-1", "payment_authorized", 2)]
    with store.reading() as cursor:
        hits = search.search(cursor, "schema validation")
    schema_failure = query(store, "SELECT id FROM dlq_messages WHERE message_id IS NULL")[0][0]
    assert [hit.dlq_id for hit in hits.dead_letters] == [schema_failure]


def test_a_later_ingest_updates_the_rollups_of_orders_already_stored(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    def order_event(event_id: str, order: str, event_type: str, minute: int) -> bytes:
        return orjson.dumps(dict(event(event_id), subject=order, type=event_type,
                                 time=f"2026-01-01T10:{minute:02d}:00Z"))

    (tmp_path / "first.jsonl").write_bytes(b"\n".join([
        order_event("a", "SO-1", "order.captured", 0), order_event("b", "SO-2", "order.captured", 1)]))
    (tmp_path / "later.jsonl").write_bytes(b"\n".join([
        order_event("c", "SO-1", "payment.authorized", 5),
        order_event("d", "SO-3", "order.captured", 6)]))

    ingest_paths(store, [tmp_path / "first.jsonl"], policy=policy)  # new orders: plain inserts
    ingest_paths(store, [tmp_path / "later.jsonl"], policy=policy)  # SO-1 again: replaced

    assert query(store, "SELECT order_id, state, events FROM orders ORDER BY order_id") == [
        ("SO-1", "payment_authorized", 2), ("SO-2", "captured", 1), ("SO-3", "captured", 1)]
    assert query(store, "SELECT order_id, state, times FROM order_states ORDER BY ALL") == [
        ("SO-1", "captured", 1), ("SO-1", "payment_authorized", 1), ("SO-2", "captured", 1),
        ("SO-3", "captured", 1)]


def test_ingest_takes_in_what_a_live_collector_spooled_exactly_once(store, tmp_path) -> None:
    """A collector that found the store busy left a Parquet segment; the next ingest imports it."""
    import pyarrow as pa

    from collectors import ingest_paths
    from collectors import spool as spooling
    from collectors.rows import TIMESTAMP

    spool = spooling.Spool(spooling.folder_for(store.path))
    spans = pa.table({"trace_id": ["ab" * 16], "span_id": ["cd" * 8], "service": ["order-router"],
                      "name": ["publish"], "ingest_id": pa.array([None], pa.int64()),
                      "start_time": pa.array([None], TIMESTAMP)})
    spool.write("spans", spans, "otlp-http 127.0.0.1:4318", "otlp")
    (tmp_path / "empty").mkdir()

    first = ingest_paths(store, [tmp_path / "empty"])
    second = ingest_paths(store, [tmp_path / "empty"])

    assert (first.spooled_segments, first.rows["spans"]) == (1, 1)
    assert (second.spooled_segments, second.rows["spans"]) == (0, 0)
    assert spool.segments() == []
    with store.reading() as cursor:
        assert cursor.execute("SELECT service FROM spans").fetchall() == [("order-router",)]
