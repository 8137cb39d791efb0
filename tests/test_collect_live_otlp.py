"""The OTLP/HTTP receiver: the real SDK exporter in, span rows out; the contract's answers; a busy store."""

from __future__ import annotations

import gzip
import http.client
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from collectors.live import LiveWriter, SourceStats
from collectors.otlp import OtlpParser
from collectors.otlp_http import OtlpReceiver, SpanIntake
from collectors.rows import Where
from collectors.spool import REJECTS, Spool, rejects_table
from queries import Store, policy
from tests.estate import hold, release, uncovered_spans

TRACE = "5b8efff798038103d269b633813fc60c"


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for a condition the code under test makes true (polled, with a deadline)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def count(store: Store, sql: str) -> int:
    with store.reading() as cursor:
        row = cursor.execute(sql).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def receiver_for(store: Store, tmp_path: Path) -> Iterator[Callable[..., OtlpReceiver]]:
    started: list[OtlpReceiver] = []

    def make(busy_timeout: float = 2.0, spool_limit: int = 1024**3,
             max_body: int = 64 * 1024 * 1024) -> OtlpReceiver:
        writer = LiveWriter(store, Spool(tmp_path / "spool", spool_limit), busy_timeout=busy_timeout)
        intake = SpanIntake(writer, SourceStats("otlp-http test", "otlp-http"), interval=0.2)
        receiver = OtlpReceiver("127.0.0.1", 0, intake, policy.load(), max_body=max_body)
        receiver.start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        if receiver.server.socket.fileno() != -1:
            receiver.stop()


def post(receiver: OtlpReceiver, body: bytes, content_type: str = "application/json",
         path: str = "/v1/traces", headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    host, port = receiver.address
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("POST", path, body, {"Content-Type": content_type, **(headers or {})})
    response = connection.getresponse()
    answer = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return answer


def otlp_json(spans: int, bad: int = 0, prefix: str = "1") -> bytes:
    good = [{"traceId": TRACE, "spanId": f"{prefix}{i:015x}", "name": "pos.sale",
             "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225600100000000",
             "attributes": [{"key": "retail.order_id", "value": {"stringValue": f"o-{i}"}}]}
            for i in range(spans)]
    broken = [{"traceId": "", "spanId": f"f{i:015x}", "name": "broken"} for i in range(bad)]
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "pos"}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": good + broken}]}]})


def test_real_sdk_exporter_spans_land_in_the_store(store: Store, receiver_for) -> None:
    receiver = receiver_for()
    host, port = receiver.address
    provider = TracerProvider(resource=Resource.create({"service.name": "storefront"}))
    exporter = OTLPSpanExporter(endpoint=f"http://{host}:{port}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("checkout")
    for number in range(20):
        with (tracer.start_as_current_span("order.capture",
                                           attributes={"retail.order_id": f"#10{number:02d}"}),
              tracer.start_as_current_span("payment.authorize")):
            pass
    provider.shutdown()
    receiver.stop()
    assert count(store, "SELECT count(*) FROM spans") == 40
    assert count(store, "SELECT count(DISTINCT order_id) FROM spans WHERE service = 'storefront'") == 20
    assert count(store, "SELECT count(*) FROM spans WHERE order_id = '#1007' "
                        "AND name = 'order.capture' AND parent_span_id IS NULL") == 1


def test_json_and_gzip_bodies_answer_as_the_contract_says(store: Store, receiver_for) -> None:
    receiver = receiver_for()
    status, headers, body = post(receiver, otlp_json(3))
    assert (status, headers["Content-Type"], body) == (200, "application/json", b"{}")
    status, headers, body = post(receiver, gzip.compress(otlp_json(2, prefix="2")),
                                 headers={"Content-Encoding": "gzip"})
    assert (status, body) == (200, b"{}")
    receiver.stop()
    assert count(store, "SELECT count(*) FROM spans") == 5


def test_an_export_sent_again_is_stored_once(store: Store, receiver_for) -> None:
    receiver = receiver_for()
    body = otlp_json(3)
    answers = [post(receiver, body)[0], post(receiver, body)[0]]  # an SDK's retry after a timeout
    receiver.stop()
    assert answers == [200, 200]
    assert count(store, "SELECT count(*) FROM spans") == 3
    assert count(store, "SELECT count(DISTINCT (trace_id, span_id)) FROM spans") == 3


def test_partial_success_counts_rejected_spans_and_records_them(store: Store, receiver_for) -> None:
    receiver = receiver_for()
    status, _, body = post(receiver, otlp_json(2, bad=2))
    assert status == 200
    partial = orjson.loads(body)["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "empty traceId" in partial["errorMessage"]
    receiver.stop()
    assert count(store, "SELECT count(*) FROM spans") == 2
    assert count(store, "SELECT count(*) FROM rejects WHERE reason LIKE '%empty traceId%'") == 2


def test_protobuf_errors_answer_in_protobuf(receiver_for) -> None:
    receiver = receiver_for()
    status, headers, body = post(receiver, b"\xff\xff\xff garbage", "application/x-protobuf")
    assert status == 400 and headers["Content-Type"] == "application/x-protobuf"
    status, _, body = post(receiver, b"", "application/x-protobuf")
    assert status == 200 and ExportTraceServiceResponse.FromString(body) == ExportTraceServiceResponse()


def test_bad_requests_are_refused_with_the_right_status(receiver_for) -> None:
    receiver = receiver_for(max_body=1000)
    status, _, body = post(receiver, b"{not json")
    assert status == 400 and orjson.loads(body)["code"] == 3
    assert post(receiver, b"[1, 2]")[0] == 400
    assert post(receiver, otlp_json(1), "text/plain")[0] == 415
    assert post(receiver, otlp_json(1), path="/v1/logs")[0] == 404
    assert post(receiver, otlp_json(40))[0] == 413  # over the limit as sent
    bomb = gzip.compress(b" " * 10_000 + b"{}")
    assert len(bomb) < 1000
    assert post(receiver, bomb, headers={"Content-Encoding": "gzip"})[0] == 413  # once inflated
    assert post(receiver, b"not gzip", headers={"Content-Encoding": "gzip"})[0] == 400


def test_busy_store_spools_then_the_receiver_stores_them_itself(store: Store, receiver_for,
                                                              tmp_path: Path) -> None:
    receiver = receiver_for(busy_timeout=0.1)
    stats = receiver.intake.stats
    holder = hold(store.path)
    try:
        for batch in range(3):
            assert post(receiver, otlp_json(50, prefix=str(batch + 1)))[0] == 200
            wait_until(lambda done=batch + 1: stats.spooled_rows == 50 * done)
        assert list((tmp_path / "spool").glob("seg-*.parquet"))  # acknowledged = on disk
    finally:
        release(holder)
    wait_until(lambda: stats.rows["spans"] == 150)
    assert stats.spooled_rows == 0
    receiver.stop()
    assert count(store, "SELECT count(*) FROM spans") == 150
    assert count(store, "SELECT count(DISTINCT span_id) FROM spans") == 150
    assert uncovered_spans(store) == 0  # the spool's import notes the traces' windows too
    assert not list((tmp_path / "spool").glob("seg-*"))


def test_spans_left_spooled_at_shutdown_are_imported_once_by_the_next_writer(
        store: Store, receiver_for, tmp_path: Path) -> None:
    receiver = receiver_for(busy_timeout=0.1)
    holder = hold(store.path)
    try:
        for batch in range(3):
            assert post(receiver, otlp_json(50, prefix=str(batch + 1)))[0] == 200
        receiver.stop()  # the store is still held: the acknowledged spans stay in the spool
    finally:
        release(holder)
    assert receiver.intake.stats.spooled_rows == 150
    segments = list((tmp_path / "spool").glob("seg-*.parquet"))
    assert len(segments) == 3
    receiver.intake.writer.import_spool()
    receiver.intake.writer.import_spool()  # nothing left: importing again adds nothing
    assert count(store, "SELECT count(*) FROM spans") == 150
    assert count(store, "SELECT count(DISTINCT span_id) FROM spans") == 150
    assert count(store, "SELECT count(*) FROM ingested_segments") == len(segments)
    assert not list((tmp_path / "spool").glob("seg-*"))


def test_busy_store_and_full_spool_answer_503_and_acknowledge_nothing(store: Store,
                                                                      receiver_for) -> None:
    receiver = receiver_for(busy_timeout=0.1, spool_limit=0)
    holder = hold(store.path)
    try:
        status, headers, body = post(receiver, otlp_json(50))
        assert status == 503 and headers["Retry-After"] == "2"
        assert orjson.loads(body)["code"] == 14
    finally:
        release(holder)
    assert post(receiver, otlp_json(50))[0] == 200  # the retry is stored at once
    assert receiver.intake.stats.rows["spans"] == 50
    receiver.stop()
    assert count(store, "SELECT count(*) FROM spans") == 50


def test_a_spool_that_cannot_be_written_stores_directly(store: Store, receiver_for,
                                                       tmp_path: Path) -> None:
    (tmp_path / "spool").write_bytes(b"")  # a file where the spool folder should be
    receiver = receiver_for()
    assert post(receiver, otlp_json(20))[0] == 200
    assert "cannot write the spool" in (receiver.intake.stats.error or "")
    receiver.stop()
    assert count(store, "SELECT count(*) FROM spans") == 20


def test_many_small_segments_are_imported_together_once(store: Store, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for batch in range(15):
        parser = OtlpParser("otlp-http test", policy.load())
        rejects = parser.feed(orjson.loads(otlp_json(10, bad=batch % 5 == 0, prefix=f"{batch + 1:x}")),
                              Where(batch + 1, 0, b""))
        spool.write("spans", parser.buffer.take(None), "otlp-http test", "otlp")
        if rejects:
            spool.write(REJECTS, rejects_table(rejects), "otlp-http test", "otlp")
    partial = pa.table({"trace_id": ["ab" * 16], "span_id": ["cd" * 8], "name": ["publish"]})
    spool.write("spans", partial, "another collector", "otlp")  # older segments lack columns
    writer = LiveWriter(store, spool)
    writer.import_spool()
    writer.import_spool()
    assert count(store, "SELECT count(*) FROM spans") == 151
    assert count(store, "SELECT count(*) FROM rejects") == 3
    assert count(store, "SELECT count(*) FROM ingest_log") == 3  # spans, rejects, the other source
    assert count(store, "SELECT count(*) FROM ingested_segments") == 19
    assert spool.segments() == []


def test_acknowledged_spans_survive_a_crash_of_the_receiver(tmp_path: Path) -> None:
    db, home = tmp_path / "store.duckdb", tmp_path / "home"
    env = {**os.environ, "BACKROOM_HOME": str(home)}
    command = [sys.executable, "-m", "console.cli", "collect", "--db", str(db), "--json"]
    cwd = Path(__file__).resolve().parents[1]
    process = subprocess.Popen([*command, "--otlp-http", "127.0.0.1:0"], stderr=subprocess.PIPE,
                               stdout=subprocess.PIPE, env=env, cwd=cwd)
    try:
        assert process.stderr is not None
        port = int(process.stderr.readline().decode().rsplit(":", 1)[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for batch in range(4):
            connection.request("POST", "/v1/traces", otlp_json(100, prefix=str(batch + 1)),
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b"{}")
    finally:  # also when an answer was wrong: no receiver left running after the test
        process.kill()  # no shutdown flush: only what was durable before each answer remains
        process.communicate(timeout=30)
    follow = tmp_path / "empty.jsonl"
    follow.write_bytes(b"")
    rerun = subprocess.run([*command, "--follow", str(follow), "--once"], capture_output=True,
                           env=env, cwd=cwd, timeout=60, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert count(Store.at(db), "SELECT count(*) FROM spans") == 400
    assert count(Store.at(db), "SELECT count(DISTINCT span_id) FROM spans") == 400
