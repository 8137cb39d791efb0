"""CloudEvents JSONL: every column filled, bad records quarantined, nothing dropped."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import ingest_paths
from queries import Store
from queries.policy import Policy, load

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def policy() -> Policy:
    return load()


def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


def event(event_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "specversion": "1.0", "id": event_id, "source": "/shopify/acme", "type": "order.captured",
        "subject": "SO-1001", "time": "2026-01-01T10:00:00.125Z",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def jsonl(*records: Any) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records)


def ingest(store: Store, tmp_path: Path, content: bytes, policy: Policy, **options: Any) -> Any:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    return ingest_paths(store, [path], policy=policy, **options)


def test_an_event_fills_every_column(store: Store, tmp_path: Path, policy: Policy) -> None:
    captured = event(
        "e-1", channel="ecommerce", recordedtime="2026-01-01T10:00:02.5+00:00",
        traceparent=TRACEPARENT.upper().replace("00-4BF", "00-4bf"),
        data={"order_id": "SO-1001", "order_name": "#1001", "customer_email": "ann@example.com",
              "store_id": "0042", "sku": "TSHIRT-RED-M", "quantity": 2, "amount": "19.99",
              "currency": "EUR"},
    )
    report = ingest(store, tmp_path, jsonl(captured), policy)

    assert (report.rows["events"], report.rejects) == (1, 0)
    row = query(store, "SELECT event_id, source, type, state, system, channel, order_id, "
                       "order_name, customer_email, store_id, sku, quantity, amount, currency, "
                       "strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f'), "
                       "strftime(recorded_at, '%Y-%m-%dT%H:%M:%S.%f'), trace_id, parent_span_id, "
                       "traceparent_valid FROM events")[0]
    assert row == (
        "e-1", "/shopify/acme", "order.captured", "captured", "ecommerce", "ecommerce", "SO-1001",
        "#1001", "ann@example.com", "0042", "TSHIRT-RED-M", 2, Decimal("19.99"), "EUR",
        "2026-01-01T10:00:00.125000", "2026-01-01T10:00:02.500000",
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True,
    )
    payload = query(store, "SELECT payload FROM events")[0][0]
    assert json.loads(payload) == captured


def test_inventory_fields_and_a_missing_recordedtime(store: Store, tmp_path: Path,
                                                     policy: Policy) -> None:
    applied = event("e-2", source="/erp/d365", type="inventory.applied", subject=None,
                    time="2026-01-01T10:05:00.123456789Z",
                    data={"movement_id": "MV-7", "store_id": 42, "sku": "SKU-1", "quantity": "-3",
                          "kind": "sale", "system": "erp"})
    ingest(store, tmp_path, jsonl(applied), policy)

    row = query(store, "SELECT state, system, movement_id, movement_kind, applied_system, "
                       "store_id, quantity, order_id, recorded_at, traceparent, traceparent_valid, "
                       "strftime(occurred_at, '%H:%M:%S.%f') FROM events")[0]
    assert row == (None, "erp", "MV-7", "sale", "erp", "42", -3, None, None, None, None,
                   "10:05:00.123456")


@pytest.mark.parametrize("fast_path", [True, False])
def test_an_event_without_a_time_happened_when_it_was_recorded(
        store: Store, tmp_path: Path, policy: Policy, fast_path: bool) -> None:
    # CloudEvents' time is optional; an order captured by such an event is still captured.
    ingest(store, tmp_path, jsonl(
        event("e-1", time=None, recordedtime="2026-01-01T10:00:02Z"),
        event("e-2", subject="SO-1002", time="not a time", recordedtime="2026-01-01T10:00:03Z"),
        event("e-3", subject="SO-1003", time=None)), policy, fast_path=fast_path)
    assert query(store, "SELECT event_id, strftime(occurred_at, '%H:%M:%S'), "
                        "strftime(recorded_at, '%H:%M:%S') FROM events ORDER BY event_id") == [
        ("e-1", "10:00:02", "10:00:02"), ("e-2", "10:00:03", "10:00:03"), ("e-3", None, None)]
    assert query(store, "SELECT order_id, state FROM orders ORDER BY order_id") == [
        ("SO-1001", "captured"), ("SO-1002", "captured"), ("SO-1003", None)]


@pytest.mark.parametrize(("source", "system"), [
    ("/pos/store/0042", "pos"), ("/shopify/acme", "ecommerce"), ("/storefront/eu", "ecommerce"),
    ("/erp/d365", "erp"), ("/wms/dc1", "wms"), ("/payments/adyen", "payment"),
    ("/middleware/router", "middleware"), ("https://example.com/erp/x", "erp"),
    ("urn:uuid:6e8bc430", None), ("/crm/x", None),
])
def test_system_comes_from_the_source(store: Store, tmp_path: Path, policy: Policy, source: str,
                                      system: str | None) -> None:
    ingest(store, tmp_path, jsonl(event("e-1", source=source)), policy)

    assert query(store, "SELECT system FROM events") == [(system,)]


def test_a_batch_line_and_data_base64(store: Store, tmp_path: Path, policy: Policy) -> None:
    encoded = base64.b64encode(b'{"order_id": "SO-7", "sku": "SKU-9"}').decode()
    binary = base64.b64encode(b"\x00\xff binary").decode()
    batch = [
        event("b-1", subject=None, data_base64=encoded),
        event("b-2", subject=None, datacontenttype="application/octet-stream", data_base64=binary),
    ]
    report = ingest(store, tmp_path, jsonl(batch), policy)

    assert report.rows["events"] == 2
    assert query(store, "SELECT event_id, order_id, sku FROM events ORDER BY event_id") == [
        ("b-1", "SO-7", "SKU-9"), ("b-2", None, None),
    ]


def test_order_id_falls_back_to_data_and_follows_the_policy(store: Store, tmp_path: Path,
                                                            policy: Policy) -> None:
    data_first = replace(policy, correlation=replace(
        policy.correlation, order_id=["data.order.ref", "subject"]))
    lines = jsonl(event("c-1", subject=None, data={"order_id": "SO-1"}),
                  event("c-2", subject="SO-2", data={"order": {"ref": "SO-REF"}}))
    ingest(store, tmp_path, lines, policy)
    with_policy = ingest_paths(store, [_write(tmp_path / "other.jsonl", jsonl(
        event("c-3", subject="SO-3", data={"order": {"ref": "SO-REF-3"}})))], policy=data_first)

    assert with_policy.rows["events"] == 1
    assert query(store, "SELECT event_id, order_id FROM events ORDER BY event_id") == [
        ("c-1", "SO-1"), ("c-2", "SO-2"), ("c-3", "SO-REF-3"),
    ]


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("traceparent", [
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # too short
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 with more
    "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",  # not hex
    "garbage \x1b[31m",
])
def test_malformed_traceparent_is_kept_verbatim_and_the_event_stored(
    store: Store, tmp_path: Path, policy: Policy, traceparent: str
) -> None:
    report = ingest(store, tmp_path, jsonl(event("t-1", traceparent=traceparent)), policy)

    assert (report.rows["events"], report.rejects) == (1, 0)
    assert query(store, "SELECT traceparent, traceparent_valid, trace_id, parent_span_id "
                        "FROM events") == [(traceparent, False, None, None)]


def test_a_future_traceparent_version_is_read_by_its_first_fields(store: Store, tmp_path: Path,
                                                                  policy: Policy) -> None:
    ingest(store, tmp_path, jsonl(event("t-2", traceparent=TRACEPARENT.replace("00-", "01-", 1)
                                        + "-future")), policy)

    assert query(store, "SELECT trace_id, traceparent_valid FROM events") == [
        ("4bf92f3577b34da6a3ce929d0e0e4736", True),
    ]


@pytest.mark.parametrize(("missing", "reason"), [
    ("specversion", "missing required attribute 'specversion'"),
    ("id", "missing required attribute 'id'"),
    ("source", "missing required attribute 'source'"),
    ("type", "missing required attribute 'type'"),
])
def test_missing_required_attribute_is_rejected_by_name(
    store: Store, tmp_path: Path, policy: Policy, missing: str, reason: str
) -> None:
    bad = event("bad")
    del bad[missing]
    report = ingest(store, tmp_path, jsonl(event("ok-1"), bad, event("ok-2")), policy)

    assert (report.rows["events"], report.rejects) == (2, 1)
    assert query(store, "SELECT line, reason FROM rejects") == [(2, reason)]


def test_batch_element_rejects_name_the_element(store: Store, tmp_path: Path,
                                                policy: Policy) -> None:
    report = ingest(store, tmp_path, jsonl([event("a"), {"specversion": "1.0", "id": "x"}, 7]),
                    policy)

    assert (report.rows["events"], report.rejects) == (1, 2)
    assert query(store, "SELECT line, reason FROM rejects ORDER BY reason") == [
        (1, "batch element 2: missing required attribute 'source'"),
        (1, "batch element 3: not a CloudEvent (a JSON object)"),
    ]


GOOD = orjson.dumps(event("good-1"))


@pytest.mark.parametrize(("bad_line", "reason_part"), [
    (b'{"specversion":"1.0","id":"\xff\xfe","source":"/pos/1","type":"t"}', "not valid UTF-8"),
    (b'{"specversion":"1.0",\x00"id":"n"}', "NUL"),
    (b"[" * 100_000 + b"]" * 100_000, "depth limit exceeded"),
    (b'{"specversion":"1.0","id":"big","source":"/pos/1","type":"t","data":{"amount":1e999}}',
     "infinity"),
    (b'{"specversion":"1.0","id":"nan","source":"/pos/1","type":"t","data":NaN}', "invalid JSON"),
    (b"\x1b[2J not json", "invalid JSON"),
])
def test_each_kind_of_bad_line_is_quarantined_with_its_place(
    store: Store, tmp_path: Path, policy: Policy, bad_line: bytes, reason_part: str
) -> None:
    content = GOOD + b"\n" + bad_line + b"\n" + orjson.dumps(event("good-2")) + b"\n"
    report = ingest(store, tmp_path, content, policy)

    assert (report.rows["events"], report.rejects) == (2, 1)
    line, offset, reason, excerpt = query(store, "SELECT line, byte_offset, reason, excerpt "
                                                 "FROM rejects")[0]
    assert (line, offset) == (2, len(GOOD) + 1)
    assert reason_part in reason
    assert len(excerpt) <= 200
    assert not any(ord(char) < 32 for char in excerpt)


def test_a_truncated_last_line_is_quarantined(store: Store, tmp_path: Path, policy: Policy) -> None:
    report = ingest(store, tmp_path, GOOD + b"\n" + GOOD[:40], policy)

    assert (report.rows["events"], report.rejects) == (1, 1)
    assert query(store, "SELECT line, reason FROM rejects")[0][1].startswith("truncated last line")


def test_a_cut_first_line_does_not_turn_the_file_into_one_bad_document(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    content = b'{"specversion":"1.0","id":"cut",\n' + GOOD + b"\n"
    report = ingest(store, tmp_path, content, policy)

    assert (report.rows["events"], report.rejects) == (1, 1)
    assert query(store, "SELECT line FROM rejects") == [(1,)]


def test_an_array_with_one_event_per_line_is_read_as_one_document(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    content = b"[\n" + GOOD + b",\n" + orjson.dumps(event("good-2")) + b"\n]\n"
    report = ingest(store, tmp_path, content, policy)

    assert (report.rows["events"], report.rejects) == (2, 0)


def test_huge_numbers_that_parse_are_stored_without_overflowing_columns(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    huge = b'{"specversion":"1.0","id":"h","source":"/pos/1","type":"t","data":{"quantity":' \
           + b"9" * 300 + b',"amount":123456789012345678901234567890}}'
    report = ingest(store, tmp_path, huge + b"\n", policy)

    assert report.rows["events"] == 1
    assert query(store, "SELECT quantity, amount FROM events") == [(None, None)]


def test_a_long_valid_line_is_stored_and_a_line_past_the_limit_rejected(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    long_event = orjson.dumps(event("long", data={"blob": "x" * 1_000_000}))
    too_long = orjson.dumps(event("too-long", data={"blob": "y" * 3_000_000}))
    content = long_event + b"\n" + too_long + b"\n" + GOOD + b"\n"
    report = ingest(store, tmp_path, content, policy, max_line_bytes=2_000_000)

    assert (report.rows["events"], report.rejects) == (2, 1)
    assert query(store, "SELECT line, reason, length(excerpt) <= 200 FROM rejects") == [
        (2, "line longer than 2,000,000 bytes", True),
    ]
    assert query(store, "SELECT event_id FROM events ORDER BY event_id") == [("good-1",), ("long",)]


def test_a_byte_order_mark_and_blank_lines_are_tolerated(store: Store, tmp_path: Path,
                                                         policy: Policy) -> None:
    content = b"\xef\xbb\xbf" + GOOD + b"\r\n\n   \n" + orjson.dumps(event("good-2")) + b"\n"
    report = ingest(store, tmp_path, content, policy)

    assert (report.rows["events"], report.rejects) == (2, 0)


def test_ingesting_the_same_events_twice_counts_duplicates(store: Store, tmp_path: Path,
                                                           policy: Policy) -> None:
    content = jsonl(event("d-1"), event("d-2"), [event("d-3"), event("d-1")])
    first = ingest(store, tmp_path, content, policy)
    second = ingest(store, tmp_path, content, policy)

    assert (first.rows["events"], first.skipped_duplicates) == (3, 1)
    assert (second.rows["events"], second.skipped_duplicates) == (0, 4)
    assert query(store, "SELECT count(*) FROM events") == [(3,)]


# Records for the property test: valid events (ids from a small pool, so duplicates happen),
# events missing a required attribute, batch lines, and lines that cannot be JSON at all.
_IDS = st.sampled_from([f"ev-{n}" for n in range(8)])
_VALID = st.builds(lambda i, s: event(i, source=s), _IDS, st.sampled_from(["/pos/1", "/erp/x"]))
_MISSING = st.builds(lambda e, k: {key: v for key, v in e.items() if key != k}, _VALID,
                     st.sampled_from(["specversion", "id", "source", "type"]))
_GARBAGE = st.binary(max_size=40).map(lambda b: b"#" + b.replace(b"\n", b" "))
_RECORD = st.one_of(_VALID, _MISSING, st.lists(st.one_of(_VALID, _MISSING), max_size=3), _GARBAGE)


def _records_in(line: Any) -> int:
    return len(line) if isinstance(line, list) else 1


def _count(store: Store) -> int:
    with store.reading() as cursor:
        return int(cursor.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_RECORD, min_size=1, max_size=12))
def test_records_in_equal_stored_plus_duplicates_plus_quarantined(
    store: Store, tmp_path_factory: pytest.TempPathFactory, policy: Policy, lines: list[Any]
) -> None:
    content = b"".join((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n"
                       for line in lines)
    path = tmp_path_factory.mktemp("prop") / "mixed.jsonl"
    records_in = sum(_records_in(line) for line in lines)

    # The second pass has other bytes (one more blank line), so it is read again, not skipped.
    for extra in (b"", b"\n"):
        path.write_bytes(content + extra)
        before = _count(store)
        report = ingest_paths(store, [path], fmt="events", policy=policy)

        assert report.records == records_in
        assert records_in == report.rows["events"] + report.skipped_duplicates + report.rejects
        assert _count(store) - before == report.rows["events"]
