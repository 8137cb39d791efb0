"""RabbitMQ management-API /get dumps: dead letters with history, a stable id, a fingerprint."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectors import ingest_paths
from collectors.rabbitmq_dump import dead_letter_id, queue_from_filename
from collectors.text import fingerprint, normalise_error
from queries import Store
from queries.policy import Policy, load

FIXTURES = Path(__file__).parent / "fixtures" / "collect"
DUMP = FIXTURES / "erp.orders.dlq.json"


@pytest.fixture
def policy() -> Policy:
    return load()


def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


def message(message_id: str | None, error: str, *, time: int = 1767225600, reason: str = "rejected",
            payload: str = '{"order_id": "SO-1"}', **headers: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"content_type": "application/json", "headers": {
        "x-exception-message": error,
        "x-death": [{"count": 1, "exchange": "shop", "queue": "orders.work", "reason": reason,
                     "routing-keys": ["order.created"], "time": time}],
        **headers,
    }}
    if message_id is not None:
        properties["message_id"] = message_id
    return {"payload_bytes": len(payload), "redelivered": False, "exchange": "shop.dlx",
            "routing_key": "order.created", "message_count": 0, "properties": properties,
            "payload": payload, "payload_encoding": "string"}


def write(path: Path, document: Any) -> Path:
    path.write_bytes(orjson.dumps(document))
    return path


def test_a_dump_fills_every_column(store: Store, policy: Policy) -> None:
    report = ingest_paths(store, [DUMP], policy=policy)

    assert (report.rows["dlq_messages"], report.rejects) == (3, 0)
    first = query(store, "SELECT broker, queue, vhost, original_exchange, original_routing_key, "
                         "original_queue, reason, death_count, epoch(first_death_at), "
                         "epoch(last_death_at), message_id, content_type, body, body_sha256, "
                         "error_text, order_id, trace_id, status FROM dlq_messages "
                         "WHERE message_id = 'm-48213'")[0]
    body = b'{"order_id":"SO-48213","total":"129.90"}'
    assert first == (
        "rabbitmq", "erp.orders.dlq", None, "shop", "order.captured", "erp.orders", "rejected", 3,
        1767225660, 1767225900, "m-48213", "application/json", body,
        hashlib.sha256(body).hexdigest(),
        "Timeout after 30000 ms calling https://erp.example/api/orders/SO-48213", "SO-48213",
        "4bf92f3577b34da6a3ce929d0e0e4736", "dead",
    )
    properties, headers, history = query(store, "SELECT properties, headers, history "
                                                "FROM dlq_messages WHERE message_id = 'm-48213'")[0]
    assert json.loads(properties) == {"message_id": "m-48213", "content_type": "application/json",
                                      "delivery_mode": 2, "timestamp": 1767225600}
    assert json.loads(headers)["x-order-id"] == "SO-48213"
    assert [entry["queue"] for entry in json.loads(history)] == ["erp.orders", "erp.orders.retry"]


def test_order_id_from_the_body_and_binary_bodies_kept_exactly(store: Store,
                                                               policy: Policy) -> None:
    ingest_paths(store, [DUMP], policy=policy)

    assert query(store, "SELECT order_id FROM dlq_messages WHERE message_id = 'm-99120'") == [
        ("SO-99120",)]
    binary = query(store, "SELECT body, message_id, order_id, error_text FROM dlq_messages "
                          "WHERE content_type = 'application/octet-stream'")
    assert binary == [(b"\x00\xff\x10\x80", None, None,
                       "Schema validation failed: field total must be a string")]


def test_two_timeouts_share_a_fingerprint_and_a_schema_failure_does_not(store: Store,
                                                                        policy: Policy) -> None:
    ingest_paths(store, [DUMP], policy=policy)

    groups = query(store, "SELECT fingerprint, count(*) FROM dlq_messages GROUP BY ALL "
                          "ORDER BY count(*) DESC")
    assert [count for _, count in groups] == [2, 1]
    assert all(len(group) == 16 for group, _ in groups)


@pytest.mark.parametrize(("first", "second"), [
    ("Timeout after 30000 ms calling /api/SO-48213 at 2026-01-01T10:00:00Z",
     "Timeout after 5000 ms calling /api/SO-99120 at 2026-01-02T11:30:12.5Z"),
    ("Order #1042 failed: id 9f1c2e7a-0b1d-4c55-9a7e-3d2f1e0c9b88",
     "Order #77 failed: id 0b1d9f1c-2e7a-4c55-9a7e-9b883d2f1e0c"),
    ("lock deadbeef0042 held by ann@example.com", "lock cafebabe0007 held by bob@example.org"),
])
def test_varying_parts_of_an_error_are_folded(first: str, second: str) -> None:
    assert normalise_error(first) == normalise_error(second)
    assert fingerprint("rejected", "q", first) == fingerprint("rejected", "q", second)
    assert fingerprint("rejected", "q", first) != fingerprint("expired", "q", first)
    assert fingerprint("rejected", "q", first) != fingerprint("rejected", "other", first)


def test_the_same_dead_letter_in_two_dumps_has_one_stable_id(store: Store, tmp_path: Path,
                                                             policy: Policy) -> None:
    wrapped = {"queue": "erp.orders.dlq", "vhost": "/",
               "messages": [dict(m, redelivered=True, message_count=9)
                            for m in orjson.loads(DUMP.read_bytes())]}
    first = ingest_paths(store, [DUMP], policy=policy)
    second = ingest_paths(store, [write(tmp_path / "later-peek.json", wrapped)], policy=policy)

    assert first.rows["dlq_messages"] == 3
    assert (second.rows["dlq_messages"], second.skipped_duplicates) == (0, 3)
    assert query(store, "SELECT count(*) FROM dlq_messages") == [(3,)]


def test_the_id_rule_is_the_documented_one(store: Store, policy: Policy) -> None:
    ingest_paths(store, [DUMP], policy=policy)

    ids = dict(query(store, "SELECT coalesce(message_id, body_sha256), id FROM dlq_messages"))
    assert ids["m-48213"] == dead_letter_id("rabbitmq", "/", "erp.orders.dlq", "m-48213", "x",
                                            1767225660 * 1_000_000)
    binary_sha = hashlib.sha256(b"\x00\xff\x10\x80").hexdigest()
    assert ids[binary_sha] == dead_letter_id("rabbitmq", None, "erp.orders.dlq", None, binary_sha,
                                             1767232800 * 1_000_000)


def test_a_new_death_of_the_same_message_is_a_new_dead_letter(store: Store, tmp_path: Path,
                                                              policy: Policy) -> None:
    before = message("m-1", "boom", time=1767225600)
    after_replay = message("m-1", "boom", time=1767229200)
    report = ingest_paths(store, [write(tmp_path / "q.dlq.json", [before, after_replay])],
                          policy=policy)

    assert report.rows["dlq_messages"] == 2


def test_queue_name_comes_from_the_wrapper_else_the_file_name(store: Store, tmp_path: Path,
                                                              policy: Policy) -> None:
    write(tmp_path / "payments.dlq.json", [message("m-1", "x")])
    write(tmp_path / "dump-2026-01-01.json", {"queue": "shop.dlq", "vhost": "prod",
                                              "messages": [message("m-2", "x")]})
    ingest_paths(store, [tmp_path], policy=policy)

    assert query(store, "SELECT message_id, queue, vhost FROM dlq_messages ORDER BY 1") == [
        ("m-1", "payments.dlq", None), ("m-2", "shop.dlq", "prod"),
    ]
    assert queue_from_filename("/x/erp.orders.dlq.json.gz") == "erp.orders.dlq"


@pytest.mark.parametrize(("header", "expected"), [
    ({"NServiceBus.ExceptionInfo.Message": "nsb failed"}, "nsb failed"),
    ({"MT-Fault-Message": "mt failed", "error": "generic"}, "mt failed"),
    ({"x-error": {"code": 7}}, '{"code":7}'),
])
def test_error_text_comes_from_the_framework_headers(store: Store, tmp_path: Path, policy: Policy,
                                                     header: dict[str, Any], expected: str) -> None:
    dead = message("m-1", "")
    dead["properties"]["headers"].pop("x-exception-message")
    dead["properties"]["headers"].update(header)
    ingest_paths(store, [write(tmp_path / "q.json", [dead])], policy=policy)

    assert query(store, "SELECT error_text FROM dlq_messages") == [(expected,)]


def test_unusable_messages_are_rejected_and_the_rest_stored(store: Store, tmp_path: Path,
                                                            policy: Policy) -> None:
    no_payload = message("m-2", "x")
    del no_payload["payload"]
    bad_base64 = dict(message("m-3", "x"), payload="***", payload_encoding="base64")
    dump = [message("m-1", "x"), no_payload, bad_base64, "not a message", message("m-5", "x")]
    report = ingest_paths(store, [write(tmp_path / "q.json", dump)], policy=policy)

    assert (report.rows["dlq_messages"], report.rejects, report.records) == (2, 3, 5)
    assert query(store, "SELECT line, reason FROM rejects ORDER BY reason") == [
        (1, "message 2: missing payload"),
        (1, "message 3: payload is not valid base64"),
        (1, "message 4: not a message object"),
    ]


def test_a_message_without_x_death_is_still_stored(store: Store, tmp_path: Path,
                                                   policy: Policy) -> None:
    plain = message("m-1", "x")
    del plain["properties"]["headers"]["x-death"]
    plain["properties"]["headers"]["x-first-death-queue"] = "orders.work"
    ingest_paths(store, [write(tmp_path / "q.json", [plain])], policy=policy)

    assert query(store, "SELECT original_queue, death_count, first_death_at, history "
                        "FROM dlq_messages") == [("orders.work", None, None, "[]")]


def test_a_compact_copy_of_a_pretty_dump_is_read_the_same(store: Store, tmp_path: Path,
                                                          policy: Policy) -> None:
    compact = tmp_path / "erp.orders.dlq.json"
    compact.write_bytes(orjson.dumps(orjson.loads(DUMP.read_bytes())))
    pretty = tmp_path / "pretty" / "erp.orders.dlq.json"
    pretty.parent.mkdir()
    shutil.copy(DUMP, pretty)

    first = ingest_paths(store, [compact], policy=policy)
    second = ingest_paths(store, [pretty], policy=policy)

    assert (first.rows["dlq_messages"], second.skipped_duplicates) == (3, 3)
