"""A large file parsed on worker processes stores exactly what parsing it here stores.

collectors/parallel.py cuts the file at line ends into pieces, real worker processes (spawned, as
`backroom ingest` starts them) parse them, and the ingest writes their batches in file order. The
tests force it onto small files (`parallel_bytes=0`) and compare every row, reject, count and
checkpoint with the one-process path on the same file.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectors import ProgressInfo, ingest_paths, parallel
from queries import Store
from queries.policy import Policy, load

LINE_LIMIT = 4096  # max_line_bytes, so that one line of the file is over it


@pytest.fixture
def policy() -> Policy:
    return load()


def span(number: int, **fields: Any) -> dict[str, Any]:
    return {"traceId": f"{number // 3 + 1:032x}", "spanId": f"{number + 1:016x}",
            "name": f"POST /orders/{number}", "kind": 2,
            "startTimeUnixNano": str(1_767_261_600_000_000_000 + number * 1_000_000),
            "endTimeUnixNano": str(1_767_261_600_005_000_000 + number * 1_000_000),
            "attributes": [{"key": "retail.order_id", "value": {"stringValue": f"SO-{number}"}}],
            **fields}


def otlp(*spans: dict[str, Any]) -> bytes:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "pos-sync"}}]}
    return orjson.dumps({"resourceSpans": [{"resource": resource,
                                            "scopeSpans": [{"spans": list(spans)}]}]})


def messy_file(path: Path) -> Path:
    """OTLP lines with every kind of trouble, and a span given twice with different names."""
    lines = []
    for number in range(0, 120, 3):
        lines.append(otlp(span(number), span(number + 1), span(number + 2)))
        if number == 9:
            lines.append(b"{not json")
        if number == 21:
            lines.append(b"")
        if number == 30:
            lines.append(b"\xef\xbb\xbf" + otlp(span(1000)))
        if number == 45:
            lines.append(otlp(span(1001, traceId="not-an-id"), span(1002)))
        if number == 60:
            lines.append(orjson.dumps({"resourceLogs": []}))
        if number == 75:
            lines.append(otlp(*(span(2000 + n) for n in range(60))))  # longer than LINE_LIMIT
        if number == 90:
            lines.append(otlp(span(4, name="given again")))  # the first one stays
    path.write_bytes(b"\n".join(lines))  # the last line has no newline
    return path


def stored(store: Store) -> dict[str, Any]:
    with store.reading() as cursor:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return cursor.execute(sql).fetchall()
        return {
            "spans": rows("SELECT * EXCLUDE (ingest_id) FROM spans ORDER BY trace_id, span_id"),
            "rejects": rows("SELECT source, line, byte_offset, reason, excerpt FROM rejects "
                            "ORDER BY line"),
            "log": rows("SELECT offset_to, lines, rows_written, rejects, skipped_duplicates, "
                        "finished_at IS NOT NULL FROM ingest_log"),
            "trace_windows": rows("SELECT trace_id, first_start, last_start, untimed, spans "
                                  "FROM trace_windows ORDER BY ALL"),
        }


def counts(report: Any) -> tuple[Any, ...]:
    return report.records, report.rows, report.rejects, report.skipped_duplicates


@pytest.mark.parametrize("chunk_bytes", [1, 1500, 64 * 1024])
def test_pieces_parsed_by_workers_store_what_one_process_stores(
        tmp_path: Path, policy: Policy, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = messy_file(tmp_path / "traces.jsonl")
    here, there = Store.at(tmp_path / "here.duckdb"), Store.at(tmp_path / "there.duckdb")
    pieces: list[tuple[Any, ...]] = []
    real_pieces = parallel.pieces

    def counted(*args: Any) -> Any:
        pieces.append(args)
        return real_pieces(*args)

    monkeypatch.setattr(parallel, "pieces", counted)
    options: dict[str, Any] = {"policy": policy, "max_line_bytes": LINE_LIMIT,
                               "batch_rows": 10, "commit_every": 2}

    alone = ingest_paths(here, [path], parallel_bytes=None, **options)
    shared = ingest_paths(there, [path], parallel_bytes=0, chunk_bytes=chunk_bytes, **options)

    assert len(pieces) == 1  # the workers read this file, and only this one
    assert counts(shared) == counts(alone)
    assert stored(there) == stored(here)
    assert alone.records == alone.rows["spans"] + alone.skipped_duplicates + alone.rejects
    assert (alone.rows["spans"], alone.skipped_duplicates, alone.rejects) == (122, 1, 4)
    with there.reading() as cursor:
        assert cursor.execute("SELECT name FROM spans WHERE span_id = $id",
                              {"id": f"{5:016x}"}).fetchall() == [("POST /orders/4",)]


def test_every_piece_starts_and_ends_at_a_line_end(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"aaaa\nbb\n\ncccccc\nd")

    ranges = list(parallel.pieces(path, 0, 3))

    assert ranges == [(0, 5), (5, 9), (9, 16), (16, None)]
    assert list(parallel.pieces(path, 5, 100)) == [(5, None)]


def test_dead_letters_parsed_by_workers_share_one_time_seen(tmp_path: Path, policy: Policy) -> None:
    records = [{"topic": "orders.dlq", "partition": 0, "offset": n, "key": f"SO-{n}",
                "payload": json.dumps({"order_id": f"SO-{n}"}), "ts": 1767261600000 + n,
                "headers": ["__connect.errors.topic", "orders",
                            "__connect.errors.exception.message", f"Timeout after {n} ms"]}
               for n in range(40)]
    path = tmp_path / "kafka-dlq.jsonl"
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    store = Store.at(tmp_path / "store.duckdb")

    report = ingest_paths(store, [path], policy=policy, parallel_bytes=0, chunk_bytes=200,
                          batch_rows=10)

    assert report.rows["dlq_messages"] == 40
    with store.reading() as cursor:
        assert cursor.execute("SELECT count(DISTINCT seen_at), count(DISTINCT fingerprint) "
                              "FROM dlq_messages").fetchall() == [(1, 1)]


def test_an_interrupted_parallel_ingest_resumes_and_leaves_no_process_behind(
        tmp_path: Path, policy: Policy) -> None:
    path = messy_file(tmp_path / "traces.jsonl")
    store, reference = Store.at(tmp_path / "store.duckdb"), Store.at(tmp_path / "ref.duckdb")
    options: dict[str, Any] = {"policy": policy, "max_line_bytes": LINE_LIMIT,
                               "batch_rows": 10, "commit_every": 2}

    def interrupt(info: ProgressInfo) -> None:
        if info.records >= 60:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_paths(store, [path], parallel_bytes=0, chunk_bytes=700, on_progress=interrupt,
                     **options)
    assert multiprocessing.active_children() == []
    with store.reading() as cursor:
        committed = cursor.execute("SELECT count(*) FROM spans").fetchone()
    resumed = ingest_paths(store, [path], parallel_bytes=0, chunk_bytes=700, **options)
    ingest_paths(reference, [path], parallel_bytes=None, **options)

    assert committed is not None and 0 < committed[0] < 122
    assert resumed.sources[0].resumed_from is not None
    after, expected = stored(store), stored(reference)
    assert after["spans"] == expected["spans"]
    assert after["rejects"] == expected["rejects"]  # each recorded once
    assert after["log"] == expected["log"]


def die(*_: Any) -> None:
    os._exit(9)  # as a worker the kernel killed for memory would


def test_a_worker_that_dies_stops_the_ingest_with_one_line(
        tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    path = messy_file(tmp_path / "traces.jsonl")
    store = Store.at(tmp_path / "store.duckdb")
    monkeypatch.setattr(parallel, "parse_piece", die)  # what the workers are sent to run
    threads = store.threads()

    with pytest.raises(parallel.WorkerFailed) as failed:
        ingest_paths(store, [path], policy=policy, parallel_bytes=0, chunk_bytes=700)

    assert "\n" not in str(failed.value)
    assert "run the ingest again" in str(failed.value)
    assert multiprocessing.active_children() == []
    assert store.threads() == threads  # DuckDB has its cores back


def test_duckdb_keeps_to_the_cores_the_workers_leave_until_they_are_done(
        tmp_path: Path, policy: Policy) -> None:
    path = messy_file(tmp_path / "traces.jsonl")
    store = Store.at(tmp_path / "store.duckdb")
    store.limit_threads(4)  # as on a machine of four cores
    buffered = store.write_buffer()
    seen: list[tuple[int, int]] = []

    report = ingest_paths(store, [path], policy=policy, parallel_bytes=0, chunk_bytes=700,
                          max_line_bytes=LINE_LIMIT, batch_rows=10, jobs=2,
                          on_progress=lambda _: seen.append((store.threads(),
                                                             store.write_buffer())))

    assert report.rows["spans"] == 122
    # While two workers parse, DuckDB's writes take the cores they leave, and hold back no more
    # row groups than they have threads; then it has all four, and its usual buffer.
    left = max(1, parallel.cores() - 2)
    assert (left, min(left, buffered)) in seen
    assert (store.threads(), store.write_buffer()) == (4, buffered)


def test_no_worker_starts_for_a_file_the_sql_fast_path_or_gzip_takes(
        tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps({
        "specversion": "1.0", "id": f"e{n}", "source": "/pos/store/0042", "type": "order.captured",
        "subject": f"SO-{n}", "time": "2026-01-01T10:00:00Z"}) + b"\n" for n in range(50)))
    traces = tmp_path / "traces.jsonl.gz"
    traces.write_bytes(gzip.compress(messy_file(tmp_path / "plain.jsonl").read_bytes()))
    started: list[int] = []
    monkeypatch.setattr(parallel.Workers, "start", lambda self: started.append(1))

    report = ingest_paths(Store.at(tmp_path / "store.duckdb"), [events, traces], policy=policy,
                          parallel_bytes=0, max_line_bytes=LINE_LIMIT)

    assert (report.rows["events"], report.rows["spans"]) == (50, 122)
    assert started == []


@pytest.mark.parametrize("jobs", [1, 3])
def test_jobs_caps_the_processes_that_parse(tmp_path: Path, policy: Policy, jobs: int) -> None:
    """`backroom ingest --jobs N`: a shared host can keep the ingest off its other cores."""
    path = messy_file(tmp_path / "traces.jsonl")
    children: list[int] = []

    def watch(_: ProgressInfo) -> None:
        children.append(len(multiprocessing.active_children()))

    report = ingest_paths(Store.at(tmp_path / "store.duckdb"), [path], policy=policy,
                          parallel_bytes=0, chunk_bytes=700, max_line_bytes=LINE_LIMIT,
                          batch_rows=10, jobs=jobs, on_progress=watch)

    assert report.rows["spans"] == 122
    # One process per job is started at once (Workers.start), none for --jobs 1.
    assert set(children) == ({0} if jobs == 1 else {jobs})
    assert multiprocessing.active_children() == []
