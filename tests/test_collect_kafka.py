"""Kafka Connect DLQ records (kcat -C -J lines): one dead letter per record, nothing dropped."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import ingest_paths
from collectors.rabbitmq_dump import dead_letter_id
from collectors.text import fingerprint
from queries import Store
from queries.policy import Policy, load

FIXTURES = Path(__file__).parent / "fixtures" / "collect"
KCAT = FIXTURES / "connect-dlq.kcat.jsonl"
TIMEOUT_48213 = "Timeout after 30000 ms calling https://erp.example/api/orders/SO-48213"


@pytest.fixture
def policy() -> Policy:
    return load()


def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


def connect_errors(topic: str = "erp.orders", stage: str = "TASK_PUT",
                   message: str | None = "boom 1") -> list[Any]:
    headers = ["__connect.errors.topic", topic, "__connect.errors.partition", "0",
               "__connect.errors.offset", "5", "__connect.errors.stage", stage,
               "__connect.errors.exception.class.name", "org.example.Boom"]
    return headers + ["__connect.errors.exception.message", message]


def record(offset: int, *headers: Any, payload: str | None = '{"order_id": "SO-1"}',
           **fields: Any) -> dict[str, Any]:
    base = {"topic": "dlq-erp", "partition": 0, "offset": offset, "tstype": "create",
            "ts": 1767225600000 + offset, "broker": 1,
            "headers": list(headers) or connect_errors(), "key": None, "payload": payload}
    return {**base, **fields}


def write(path: Path, *lines: Any) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n"
                              for line in lines))
    return path


def test_kcat_lines_fill_every_column(store: Store, policy: Policy) -> None:
    report = ingest_paths(store, [KCAT], policy=policy)

    assert (report.sources[0].format, report.rows["dlq_messages"], report.rejects) == (
        "kafka-dlq", 3, 0)
    row = query(store, "SELECT broker, queue, vhost, original_exchange, original_routing_key, "
                       "original_queue, reason, death_count, epoch_ms(first_death_at), "
                       "epoch_ms(last_death_at), message_id, content_type, body, body_sha256, "
                       "error_text, order_id, trace_id, status FROM dlq_messages "
                       "WHERE message_id = 'm-48213'")
    body = b'{"order_id":"SO-48213","total":"129.90"}'
    assert row == [(
        "kafka", "dlq-erp-orders", None, None, None, "erp.orders", "TASK_PUT", 1,
        1767225600125, 1767225600125, "m-48213", "application/json", body,
        hashlib.sha256(body).hexdigest(), TIMEOUT_48213, "SO-48213",
        "4bf92f3577b34da6a3ce929d0e0e4736", "dead",
    )]
    properties, history = query(store, "SELECT properties, history FROM dlq_messages "
                                       "WHERE message_id = 'm-48213'")[0]
    assert json.loads(properties) == {"topic": "dlq-erp-orders", "partition": 0, "offset": 42,
                                      "tstype": "create", "ts": 1767225600125, "broker": 1,
                                      "key": "SO-48213"}
    assert [(entry["topic"], entry["offset"], entry["connector.name"])
            for entry in json.loads(history)] == [("erp.orders", "1187", "erp-sink")]


def test_repeated_error_headers_count_as_deaths_and_stay_a_multimap(store: Store,
                                                                    policy: Policy) -> None:
    ingest_paths(store, [KCAT], policy=policy)

    count, headers, history = query(store, "SELECT death_count, headers, history "
                                           "FROM dlq_messages WHERE order_id = 'SO-99120'")[0]
    assert count == 2
    multimap = json.loads(headers)
    assert multimap["x-tenant"] == [None]
    assert multimap["__connect.errors.topic"] == ["erp.orders", "erp.orders"]
    assert len(json.loads(history)) == 2
    assert "exception.stacktrace" not in json.loads(history)[0]


def test_message_ids_come_from_a_header_else_from_the_body(store: Store,
                                                           policy: Policy) -> None:
    ingest_paths(store, [KCAT], policy=policy)

    ids = dict(query(store, "SELECT order_id, message_id = 'sha256:' || body_sha256 "
                            "FROM dlq_messages WHERE message_id <> 'm-48213'"))
    assert ids == {"SO-99120": True, None: True}  # no id header: derived from the body


def test_the_id_is_the_documented_rule(store: Store, policy: Policy) -> None:
    ingest_paths(store, [KCAT], policy=policy)

    (stable_id, sha), = query(store, "SELECT id, body_sha256 FROM dlq_messages "
                                     "WHERE message_id = 'm-48213'")
    assert stable_id == dead_letter_id("kafka", None, "dlq-erp-orders", "partition=0,offset=42",
                                       sha, 1767225600125 * 1000)


def test_like_failures_share_a_fingerprint(store: Store, policy: Policy) -> None:
    ingest_paths(store, [KCAT], policy=policy)

    groups = query(store, "SELECT fingerprint, reason, original_queue, count(*) FROM dlq_messages "
                          "GROUP BY ALL ORDER BY count(*) DESC")
    assert [(reason, queue, count) for _, reason, queue, count in groups] == [
        ("TASK_PUT", "erp.orders", 2), ("VALUE_CONVERTER", "pos.sales", 1)]
    assert groups[0][0] == fingerprint("TASK_PUT", "erp.orders", TIMEOUT_48213)
    converter = query(store, "SELECT error_text, body FROM dlq_messages "
                             "WHERE reason = 'VALUE_CONVERTER'")
    assert converter == [("org.apache.kafka.connect.errors.DataException", b"not json {")]


def test_a_re_export_of_the_same_records_adds_nothing(store: Store, tmp_path: Path,
                                                      policy: Policy) -> None:
    lines = [orjson.loads(line) for line in KCAT.read_bytes().splitlines()]
    again = write(tmp_path / "again.jsonl", *[dict(line, broker=3) for line in reversed(lines)])

    first = ingest_paths(store, [KCAT], policy=policy)
    second = ingest_paths(store, [again], policy=policy)

    assert (first.rows["dlq_messages"], second.rows["dlq_messages"]) == (3, 0)
    assert second.skipped_duplicates == 3


@pytest.mark.parametrize(("headers", "expected"), [
    ([["message-id", "m-7"], ["x-order-id", "SO-7"]], ("m-7", "SO-7")),
    ([{"key": "x-order-id", "value": "SO-8"}, {"key": "id", "value": "m-8"}], ("m-8", "SO-8")),
    ({"x-order-id": ["SO-0", None, "SO-9"], "id": "m-9"}, ("m-9", "SO-9")),
    ([], (None, "SO-1")),
])
def test_header_shapes_other_tools_write(store: Store, tmp_path: Path, policy: Policy,
                                         headers: Any, expected: tuple[Any, ...]) -> None:
    line = dict(record(1), headers=headers)
    report = ingest_paths(store, [write(tmp_path / "k.jsonl", line)], fmt="kafka-dlq",
                          policy=policy)

    assert report.rows["dlq_messages"] == 1
    message_id, order_id, count = query(store, "SELECT message_id, order_id, death_count "
                                               "FROM dlq_messages")[0]
    if expected[0] is None:
        assert message_id.startswith("sha256:")
    else:
        assert message_id == expected[0]
    assert (order_id, count) == (expected[1], 1)


def test_bad_lines_are_rejected_with_their_line_and_the_rest_stored(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    path = write(tmp_path / "dlq.jsonl",
                 record(1),
                 record(2, "only-a-name"),
                 dict(record(3), topic=None),
                 record(4, payload={"parsed": "json"}),  # type: ignore[arg-type]
                 b'{"topic": "dlq-erp", "payload": "cut',
                 [record(6), 7],
                 "just a string",
                 record(8, payload=None))

    report = ingest_paths(store, [path], policy=policy)

    assert (report.rows["dlq_messages"], report.rejects, report.records) == (3, 6, 9)
    reasons = query(store, "SELECT line, reason FROM rejects ORDER BY line")
    assert [line for line, _ in reasons] == [2, 3, 4, 5, 6, 7]
    assert reasons[0][1] == "headers has an odd number of items (1): not name/value pairs"
    assert reasons[1][1] == "missing topic"
    assert reasons[2][1] == "payload is not a string"
    assert reasons[3][1].startswith("invalid JSON")
    assert reasons[4][1] == "record 2: not a kcat JSON record (an object)"
    assert reasons[5][1].startswith("not a kcat JSON record")
    tombstone = query(store, "SELECT body FROM dlq_messages ORDER BY first_death_at DESC LIMIT 1")
    assert tombstone == [(b"",)]  # a null payload (tombstone) is stored as empty bytes


def test_a_kcat_file_with_a_misleading_name_is_detected_by_content(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    shutil.copy(KCAT, tmp_path / "traces.otlp.json")

    report = ingest_paths(store, [tmp_path], policy=policy)

    assert [source.format for source in report.sources] == ["kafka-dlq"]
    assert report.rows["dlq_messages"] == 3


# The records-in property: valid records from a small pool of offsets (so duplicates happen),
# records without a topic, records with a broken header array, array lines, non-JSON lines.
_VALID = st.builds(lambda offset, error: record(offset, *connect_errors(message=error)),
                   st.integers(0, 6), st.sampled_from(["boom 1", "boom 2", None]))
_NO_TOPIC = _VALID.map(lambda line: {k: v for k, v in line.items() if k != "topic"})
_ODD_HEADERS = _VALID.map(lambda line: dict(line, headers=line["headers"][:-1]))
_GARBAGE = st.binary(max_size=40).map(lambda b: b"#" + b.replace(b"\n", b" "))
_LINE = st.one_of(_VALID, _VALID, _NO_TOPIC, _ODD_HEADERS, _GARBAGE,
                  st.lists(st.one_of(_VALID, _NO_TOPIC), min_size=1, max_size=3))


def _count(store: Store) -> int:
    with store.reading() as cursor:
        found = cursor.execute("SELECT count(*) FROM dlq_messages").fetchone()
    return int(found[0]) if found else 0


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, min_size=1, max_size=12))
def test_records_in_equal_stored_plus_duplicates_plus_quarantined(
    store: Store, tmp_path_factory: pytest.TempPathFactory, policy: Policy, lines: list[Any]
) -> None:
    content = b"".join((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n"
                       for line in lines)
    path = tmp_path_factory.mktemp("kafka") / "dlq.jsonl"
    records_in = sum(len(line) if isinstance(line, list) else 1 for line in lines)

    # The second pass has other bytes (one more blank line), so it is read again, not skipped.
    for extra in (b"", b"\n"):
        path.write_bytes(content + extra)
        before = _count(store)
        report = ingest_paths(store, [path], fmt="kafka-dlq", policy=policy)

        assert report.records == records_in
        assert records_in == report.rows["dlq_messages"] + report.skipped_duplicates \
            + report.rejects
        assert _count(store) - before == report.rows["dlq_messages"]
