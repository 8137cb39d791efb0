"""OTLP JSON traces: the quirks of real producers accepted, bad spans quarantined alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectors import ingest_paths
from queries import Store
from queries.policy import Policy, load

FIXTURES = Path(__file__).parent / "fixtures" / "collect"
TRACE = "7a3c9e0f4b2d41c8a1f0e2d3c4b5a697"


@pytest.fixture
def policy() -> Policy:
    return load()


def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


def span(span_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "traceId": TRACE, "spanId": span_id, "name": f"op {span_id}", "kind": 1,
        "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225600250000000",
    }
    base.update(fields)
    return base


def request(*spans: dict[str, Any], service: str = "checkout", key: str = "resourceSpans",
            scope_key: str = "scopeSpans", scope_name_key: str = "scope") -> dict[str, Any]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    scope = {scope_name_key: {"name": "checkout.orders"}, "spans": list(spans)}
    return {key: [{"resource": resource, scope_key: [scope]}]}


def write_lines(path: Path, *documents: Any) -> Path:
    path.write_bytes(b"".join(orjson.dumps(doc) + b"\n" for doc in documents))
    return path


def test_collector_lines_with_every_quirk_are_stored_normalised(store: Store, tmp_path: Path,
                                                                 policy: Policy) -> None:
    first = span(
        "1F2E3D4C5B6A7980", traceId=TRACE.upper(), kind="SPAN_KIND_SERVER",
        startTimeUnixNano=1767225600000000000, endTimeUnixNano=1767225600250000000,
        parentSpanId="", status={},
        attributes=[
            {"key": "retail.order_id", "value": {"stringValue": "SO-1001"}},
            {"key": "http.response.status_code", "value": {"intValue": "201"}},
            {"key": "ratio", "value": {"doubleValue": 0.5}},
            {"key": "flags", "value": {"arrayValue": {"values": [
                {"boolValue": True}, {"intValue": 3}]}}},
            {"key": "nested", "value": {"kvlistValue": {"values": [
                {"key": "a", "value": {"stringValue": "b"}}]}}},
            {"key": "raw", "value": {"bytesValue": "AAEC"}},
            {"key": "empty", "value": {}},
        ],
    )
    second = span(
        "aa00bb11cc22dd33", parentSpanId="1f2e3d4c5b6a7980", kind=4,
        status={"code": 2, "message": "publish not confirmed"},
        attributes=[{"key": "messaging.message.id", "value": {"stringValue": "m-1001"}}],
        events=[{"timeUnixNano": "1767225600170000000", "name": "broker.nack",
                 "attributes": [{"key": "retry", "value": {"boolValue": True}}]}],
        links=[{"traceId": "0AF7651916CD43DD8448EB211C80319C", "spanId": "b7ad6b7169203331"}],
    )
    path = write_lines(tmp_path / "traces.jsonl", request(first, second))

    report = ingest_paths(store, [path], policy=policy)

    assert report.rows["spans"] == 2 and report.rejects == 0
    rows = query(store, "SELECT span_id, trace_id, parent_span_id, service, kind, status_code, "
                        "status_message, duration_ms, scope, order_id, message_id, "
                        "strftime(start_time, '%Y-%m-%dT%H:%M:%S.%f') FROM spans ORDER BY span_id")
    assert rows == [
        ("1f2e3d4c5b6a7980", TRACE, None, "checkout", 2, 0, None, 250.0, "checkout.orders",
         "SO-1001", None, "2026-01-01T00:00:00.000000"),
        ("aa00bb11cc22dd33", TRACE, "1f2e3d4c5b6a7980", "checkout", 4, 2, "publish not confirmed",
         250.0, "checkout.orders", None, "m-1001", "2026-01-01T00:00:00.000000"),
    ]
    attributes, resource = query(store, "SELECT attributes, resource FROM spans "
                                        "WHERE span_id = '1f2e3d4c5b6a7980'")[0]
    assert json.loads(attributes) == {
        "retail.order_id": "SO-1001", "http.response.status_code": 201, "ratio": 0.5,
        "flags": [True, 3], "nested": {"a": "b"}, "raw": "AAEC", "empty": None,
    }
    assert json.loads(resource) == {"service.name": "checkout"}
    events, links = query(store, "SELECT span_events, links FROM spans "
                                 "WHERE span_id = 'aa00bb11cc22dd33'")[0]
    assert json.loads(events) == [{"time": "2026-01-01T00:00:00.170000Z", "name": "broker.nack",
                                   "attributes": {"retry": True}}]
    assert json.loads(links) == [{"trace_id": "0af7651916cd43dd8448eb211c80319c",
                                  "span_id": "b7ad6b7169203331", "attributes": {}}]


def test_pretty_printed_request_with_base64_ids_and_enum_names(store: Store,
                                                               policy: Policy) -> None:
    report = ingest_paths(store, [FIXTURES / "otlp_request_pretty.json"], policy=policy)

    assert (report.rows["spans"], report.rejects) == (2, 0)
    rows = query(store, "SELECT trace_id, span_id, parent_span_id, kind, status_code, service, "
                        "order_id FROM spans ORDER BY start_time")
    assert rows == [
        ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", None, 2, 1, "storefront",
         "SO-1042"),
        ("5b8efff798038103d269b633813fc60c", "aa00bb11cc22dd33", "eee19b7ec3c1b174", 4, 2,
         "storefront", None),
    ]


def test_legacy_instrumentation_library_and_tempo_batches(store: Store, tmp_path: Path,
                                                          policy: Policy) -> None:
    legacy = request(span("0000000000000001"), scope_key="instrumentationLibrarySpans",
                     scope_name_key="instrumentationLibrary", service="legacy")
    tempo = request(span("0000000000000002"), key="batches", service="tempo")
    path = write_lines(tmp_path / "mixed.jsonl", legacy, tempo)

    ingest_paths(store, [path], policy=policy)

    assert query(store, "SELECT span_id, service, scope FROM spans ORDER BY span_id") == [
        ("0000000000000001", "legacy", "checkout.orders"),
        ("0000000000000002", "tempo", "checkout.orders"),
    ]


@pytest.mark.parametrize(("bad_fields", "reason"), [
    ({"traceId": ""}, "span has an empty traceId"),
    ({"traceId": "0" * 32}, "span has an all-zero traceId"),
    ({"traceId": "xyz"}, "span has an invalid traceId 'xyz'"),
    ({"spanId": None}, "span has an empty spanId"),
    ({"spanId": "AAAAAAAAAAA="}, "span has an all-zero spanId"),
    ({"spanId": "12345"}, "span has an invalid spanId '12345'"),
])
def test_span_with_unusable_ids_is_rejected_and_the_rest_of_the_line_stored(
    store: Store, tmp_path: Path, policy: Policy, bad_fields: dict[str, Any], reason: str
) -> None:
    good_line = request(span("0000000000000001"))
    mixed_line = request(span("0000000000000002"), span("0000000000000003", **bad_fields),
                         span("0000000000000004"))
    path = write_lines(tmp_path / "traces.jsonl", good_line, mixed_line)

    report = ingest_paths(store, [path], policy=policy)

    assert (report.rows["spans"], report.rejects, report.records) == (3, 1, 4)
    assert query(store, "SELECT line, reason FROM rejects") == [(2, reason)]
    assert query(store, "SELECT byte_offset FROM rejects") == [(len(orjson.dumps(good_line)) + 1,)]


def test_lines_that_are_not_traces_are_rejected_with_their_line(store: Store, tmp_path: Path,
                                                               policy: Policy) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_bytes(
        orjson.dumps(request(span("0000000000000001"))) + b"\n"
        + b'{"resourceLogs": []}\n'
        + b"not json at all\n"
        + orjson.dumps(request(span("0000000000000002"))) + b"\n"
    )

    report = ingest_paths(store, [path], fmt="otlp", policy=policy)

    assert report.rows["spans"] == 2
    rejects = query(store, "SELECT line, reason FROM rejects ORDER BY line")
    assert rejects[0] == (2, "OTLP logs, not traces")
    assert rejects[1][0] == 3 and rejects[1][1].startswith("invalid JSON")


def test_ingesting_the_same_traces_twice_adds_nothing(store: Store, tmp_path: Path,
                                                      policy: Policy) -> None:
    path = write_lines(tmp_path / "traces.jsonl", request(span("0000000000000001"),
                                                          span("0000000000000002")))
    ingest_paths(store, [path], policy=policy)
    copy = write_lines(tmp_path / "copy.jsonl", request(span("0000000000000001")),
                       request(span("0000000000000002")))

    again = ingest_paths(store, [copy], policy=policy)

    assert again.rows["spans"] == 0 and again.skipped_duplicates == 2
    assert query(store, "SELECT count(*) FROM spans") == [(2,)]


def test_a_span_given_twice_in_one_batch_is_stored_once_as_first_given(
        store: Store, tmp_path: Path, policy: Policy) -> None:
    path = write_lines(tmp_path / "traces.jsonl",
                       request(span("0000000000000001", name="first"), span("0000000000000002")),
                       request(span("0000000000000001", name="given again")))

    report = ingest_paths(store, [path], policy=policy)

    assert report.rows["spans"] == 2 and report.skipped_duplicates == 1
    assert query(store, "SELECT span_id, name FROM spans ORDER BY span_id") == [
        ("0000000000000001", "first"), ("0000000000000002", "op 0000000000000002")]
