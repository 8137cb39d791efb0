"""Jaeger JSON: spans stored exactly as the same trace in OTLP would be, bad spans quarantined."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectors import ingest_paths
from queries import Store
from queries.policy import Policy, load

FIXTURES = Path(__file__).parent / "fixtures" / "collect"
DOWNLOAD = FIXTURES / "jaeger_download.json"
TRACE = "7a3c9e0f4b2d41c8a1f0e2d3c4b5a697"
JSON_COLUMNS = ("attributes", "resource", "span_events", "links")


@pytest.fixture
def policy() -> Policy:
    return load()


def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


def tag(key: str, value: Any, kind: str = "string") -> dict[str, Any]:
    return {"key": key, "type": kind, "value": value}


def span(span_id: str, *tags: dict[str, Any], **fields: Any) -> dict[str, Any]:
    base = {"traceID": TRACE, "spanID": span_id, "operationName": f"op {span_id}",
            "references": [], "startTime": 1767225600000000, "duration": 250000,
            "tags": list(tags), "logs": [], "processID": "p1"}
    return {**base, **fields}


def trace(*spans: dict[str, Any], service: str = "checkout") -> dict[str, Any]:
    return {"traceID": TRACE, "spans": list(spans),
            "processes": {"p1": {"serviceName": service, "tags": [tag("host.name", "web-1")]}}}


def write(path: Path, *documents: Any) -> Path:
    path.write_bytes(b"".join(orjson.dumps(document) + b"\n" for document in documents))
    return path


def spans(store: Store) -> list[dict[str, Any]]:
    """Every span row, JSON columns parsed, in a stable order."""
    with store.reading() as cursor:
        result = cursor.execute("SELECT * EXCLUDE (ingest_id) FROM spans ORDER BY span_id")
        names = [column[0] for column in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    for row in rows:
        for column in JSON_COLUMNS:
            row[column] = json.loads(row[column])
    return rows


def test_a_downloaded_trace_fills_every_column(store: Store, policy: Policy) -> None:
    report = ingest_paths(store, [DOWNLOAD], policy=policy)

    assert (report.sources[0].format, report.rows["spans"], report.rejects) == ("jaeger", 4, 1)
    by_id = {row["span_id"]: row for row in spans(store)}
    publish = by_id["aa00bb11cc22dd33"]
    assert {key: publish[key] for key in (
        "trace_id", "parent_span_id", "service", "name", "kind", "duration_ms", "status_code",
        "status_message", "attributes", "resource", "span_events", "order_id", "message_id",
    )} == {
        "trace_id": TRACE, "parent_span_id": "1f2e3d4c5b6a7980", "service": "checkout",
        "name": "shop publish", "kind": 4, "duration_ms": 80.0, "status_code": 2,
        "status_message": "publish not confirmed",
        "attributes": {"messaging.message.id": "m-1001", "messaging.system": "rabbitmq"},
        "resource": {"host.name": "web-1", "service.name": "checkout"},
        "span_events": [{"time": "2026-01-01T00:00:00.170000Z", "name": "broker.nack",
                         "attributes": {"retry": True}}],
        "order_id": None, "message_id": "m-1001",
    }
    times = query(store, "SELECT epoch_us(start_time), epoch_us(end_time) FROM spans "
                         "WHERE span_id = 'aa00bb11cc22dd33'")
    assert times == [(1767225600100000, 1767225600180000)]


def test_ids_are_lower_cased_and_padded_and_tags_become_columns(store: Store,
                                                                policy: Policy) -> None:
    ingest_paths(store, [DOWNLOAD], policy=policy)

    assert query(store, "SELECT trace_id, span_id, parent_span_id, service, kind, status_code, "
                        "scope, order_id FROM spans ORDER BY start_time") == [
        (TRACE, "1f2e3d4c5b6a7980", None, "checkout", 2, 1, "checkout.orders", "SO-1001"),
        (TRACE, "aa00bb11cc22dd33", "1f2e3d4c5b6a7980", "checkout", 4, 2, None, None),
        (TRACE, "000000003d1c9ea4", "aa00bb11cc22dd33", "erp-adapter", 5, 0, None, "SO-1001"),
        ("000000000000000000f067aa0ba902b7", "b7ad6b7169203331", None, "storefront", 0, 0, None,
         None),
    ]
    server = query(store, "SELECT attributes FROM spans WHERE span_id = '1f2e3d4c5b6a7980'")
    assert json.loads(server[0][0]) == {"retail.order_id": "SO-1001",
                                        "http.response.status_code": 201}


def test_the_bad_span_is_rejected_alone_with_its_reason(store: Store, policy: Policy) -> None:
    ingest_paths(store, [DOWNLOAD], policy=policy)

    (line, reason, excerpt), = query(store, "SELECT line, reason, excerpt FROM rejects")
    assert (line, reason) == (1, "span has an invalid spanID 'not-hex!'")
    assert '"operationName":"broken"' in excerpt


def test_a_trace_reads_the_same_from_jaeger_and_from_otlp(store: Store, tmp_path: Path,
                                                          policy: Policy) -> None:
    jaeger = trace(
        span("1f2e3d4c5b6a7980", tag("span.kind", "server"), tag("retail.order_id", "SO-7"),
             tag("http.response.status_code", "201", "int64"), tag("ratio", 0.5, "float64"),
             tag("otel.scope.name", "checkout.orders"), tag("otel.status_code", "OK")),
        span("aa00bb11cc22dd33", tag("span.kind", "producer"), tag("error", True, "bool"),
             tag("otel.status_code", "ERROR"), tag("otel.status_description", "nack"),
             tag("otel.scope.name", "checkout.orders"),
             references=[{"refType": "CHILD_OF", "traceID": TRACE, "spanID": "1f2e3d4c5b6a7980"},
                         {"refType": "FOLLOWS_FROM", "traceID": "0af7651916cd43dd8448eb211c80319c",
                          "spanID": "b7ad6b7169203331"}],
             logs=[{"timestamp": 1767225600170000, "fields": [tag("event", "broker.nack")]}]),
    )
    otlp = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "host.name", "value": {"stringValue": "web-1"}},
        {"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"scope": {"name": "checkout.orders"}, "spans": [
            {"traceId": TRACE, "spanId": "1f2e3d4c5b6a7980", "name": "op 1f2e3d4c5b6a7980",
             "kind": 2, "startTimeUnixNano": "1767225600000000000",
             "endTimeUnixNano": "1767225600250000000", "status": {"code": 1},
             "attributes": [{"key": "retail.order_id", "value": {"stringValue": "SO-7"}},
                            {"key": "http.response.status_code", "value": {"intValue": "201"}},
                            {"key": "ratio", "value": {"doubleValue": 0.5}}]},
            {"traceId": TRACE, "spanId": "aa00bb11cc22dd33", "parentSpanId": "1f2e3d4c5b6a7980",
             "name": "op aa00bb11cc22dd33", "kind": 4,
             "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225600250000000",
             "status": {"code": 2, "message": "nack"},
             "events": [{"timeUnixNano": "1767225600170000000", "name": "broker.nack"}],
             "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c",
                        "spanId": "b7ad6b7169203331", "attributes": [
                            {"key": "opentracing.ref_type",
                             "value": {"stringValue": "follows_from"}}]}]},
        ]}]}]}
    other = Store.at(tmp_path / "otlp.duckdb")
    ingest_paths(store, [write(tmp_path / "jaeger.json", {"data": [jaeger]})], policy=policy)
    ingest_paths(other, [write(tmp_path / "otlp.json", otlp)], policy=policy)

    assert len(spans(store)) == 2
    assert spans(store) == spans(other)


@pytest.mark.parametrize(("tags", "kind", "status"), [
    ([], 0, 0),
    ([tag("span.kind", "SERVER")], 2, 0),
    ([tag("span.kind", "internal")], 1, 0),
    ([tag("span.kind", "client"), tag("otel.status_code", "OK")], 3, 1),
    ([tag("span.kind", "consumer"), tag("error", True, "bool")], 5, 2),
    ([tag("error", "true")], 0, 2),
    ([tag("error", False, "bool")], 0, 0),
    ([tag("otel.status_code", "ERROR")], 0, 2),
    ([tag("span.kind", "sideways")], 0, 0),
])
def test_kind_and_status_come_from_the_translator_tags(
    store: Store, tmp_path: Path, policy: Policy, tags: list[dict[str, Any]], kind: int,
    status: int,
) -> None:
    ingest_paths(store, [write(tmp_path / "t.json", {"data": [trace(span("a1", *tags))]})],
                 policy=policy)

    assert query(store, "SELECT kind, status_code, attributes FROM spans") == [
        (kind, status, "{}")]


def test_one_trace_per_line_and_a_bare_trace(store: Store, tmp_path: Path,
                                             policy: Policy) -> None:
    path = write(tmp_path / "traces.jsonl", {"data": [trace(span("a1"))]}, trace(span("a2")),
                 {"data": [trace(span("0000000000000000"), span("a3"))]})

    report = ingest_paths(store, [path], policy=policy)

    assert (report.sources[0].format, report.rows["spans"], report.rejects) == ("jaeger", 3, 1)
    assert query(store, "SELECT line, reason FROM rejects") == [
        (3, "span has an all-zero spanID")]


@pytest.mark.parametrize(("document", "reason"), [
    ({"data": None, "total": 0, "errors": [{"code": 404, "msg": "trace not found"}]},
     "Jaeger query API error: trace not found"),
    ({"data": [7]}, "data[0]: trace is not an object"),
    ({"data": [{"traceID": TRACE, "spans": {}}]}, "data[0]: spans is not a list"),
    ({"data": [trace(span("a1", traceID=None))]}, "span has an empty traceID"),
    ({"data": [trace(span("a1", references=[{"refType": "CHILD_OF", "spanID": "zz"}]))]},
     "span has an invalid parent spanID 'zz'"),
    ("a string", "not Jaeger JSON (an object with a data list of traces)"),
])
def test_unusable_documents_and_spans_are_rejected_by_reason(
    store: Store, tmp_path: Path, policy: Policy, document: Any, reason: str
) -> None:
    path = write(tmp_path / "bad.json", document, {"data": [trace(span("b1"))]})

    report = ingest_paths(store, [path], fmt="jaeger", policy=policy)

    assert (report.rows["spans"], report.rejects, report.records) == (1, 1, 2)
    assert query(store, "SELECT line, reason FROM rejects") == [(1, reason)]


def test_ingesting_twice_adds_nothing_and_counts_duplicates(store: Store, tmp_path: Path,
                                                            policy: Policy) -> None:
    copy = tmp_path / "copy" / "trace.json"
    copy.parent.mkdir()
    copy.write_bytes(orjson.dumps(orjson.loads(DOWNLOAD.read_bytes())))  # other bytes, same spans

    first = ingest_paths(store, [DOWNLOAD], policy=policy)
    second = ingest_paths(store, [copy], policy=policy)

    assert (first.rows["spans"], second.rows["spans"], second.skipped_duplicates) == (4, 0, 4)
    assert query(store, "SELECT count(*) FROM spans") == [(4,)]


def test_a_jaeger_file_with_a_misleading_name_is_detected_by_content(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    shutil.copy(DOWNLOAD, tmp_path / "otlp-traces.jsonl")
    write(tmp_path / "events.json", trace(span("c1")))

    report = ingest_paths(store, [tmp_path], policy=policy)

    assert [source.format for source in report.sources] == ["jaeger", "jaeger"]
    assert report.rows["spans"] == 5
