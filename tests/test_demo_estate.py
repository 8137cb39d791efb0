"""The demo estate generator: real wire formats, repeatable bytes, every scenario in the files."""

from __future__ import annotations

import base64
import re
import tracemalloc
from collections import Counter
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from collectors.demo import EstateSummary, generate
from collectors.demo.__main__ import main
from collectors.demo.writers import RotatingJsonl
from tests.demo_helpers import (
    DECIMAL,
    HEX16,
    HEX32,
    NOW,
    ORDERS,
    RFC3339_MS,
    TRACEPARENT,
    Estate,
    nanos,
    read_estate,
    shipped_policy,
    when,
)

SOURCES = re.compile(r"^(/pos/store/\d{4}|/shopify/acme|/erp/d365|/wms/dc1|/payments/psp"
                     r"|/middleware/order-router)$")
CHANNELS = {"pos", "ecommerce", "bopis", "marketplace"}
ORDER_FIELDS = {"order_id", "order_name", "customer_email", "store_id", "sku", "quantity",
                "amount", "currency"}
MOVEMENT_FIELDS = {"movement_id", "store_id", "sku", "quantity", "kind"}
ANY_VALUE_KEYS = {"stringValue", "intValue", "boolValue", "doubleValue"}
REASONS = {"rejected", "expired", "maxlen", "delivery_limit"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[EstateSummary, Estate]:
    root = tmp_path_factory.mktemp("estate")
    summary = generate(root, orders=ORDERS, seed=7, now=NOW)
    return summary, read_estate(root)


@pytest.fixture(scope="module")
def estate(generated: tuple[EstateSummary, Estate]) -> Estate:
    return generated[1]


def test_the_summary_names_every_file_and_agrees_with_the_manifest(
        generated: tuple[EstateSummary, Estate]) -> None:
    summary, estate = generated
    assert summary.orders == ORDERS and summary.now == NOW
    assert all(path.is_file() for path in summary.files)
    names = {path.relative_to(estate.root).as_posix() for path in summary.files}
    assert {"manifest.json", "traces/traces-001.jsonl", "events/events-001.jsonl",
            "dlq/erp.orders.dlq.json", "dlq/erp.invoices.dlq.json"} <= names
    counts = estate.manifest["counts"]
    assert (counts["events"], counts["spans"], counts["dead_letters"]) == (
        summary.events, summary.spans, summary.dead_letters)
    assert len(estate.events) == summary.events and len(estate.spans) == summary.spans
    assert sum(len(messages) for messages in estate.dead_letters.values()) == summary.dead_letters
    listed = {entry["path"]: entry for entry in estate.manifest["files"]}
    assert sum(entry.get("events", 0) for entry in listed.values()) == summary.events
    assert Counter(event["type"] for event in estate.events) == counts["events_by_type"]


def test_the_same_seed_and_now_write_the_same_bytes(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, orders=1200, seed=11, now=NOW)
    generate(second, orders=1200, seed=11, now=NOW)
    generate(other, orders=1200, seed=12, now=NOW)

    def files(root: Path) -> dict[str, bytes]:
        return {path.relative_to(root).as_posix(): path.read_bytes()
                for path in sorted(root.rglob("*")) if path.is_file()}

    assert files(first) == files(second)
    assert files(first)["events/events-001.jsonl"] != files(other)["events/events-001.jsonl"]


def test_each_trace_line_is_one_exported_batch_grouped_by_service(estate: Estate) -> None:
    services = set()
    for document in estate.trace_lines:
        assert list(document) == ["resourceSpans"]
        names = [next(pair["value"]["stringValue"] for pair in group["resource"]["attributes"]
                      if pair["key"] == "service.name") for group in document["resourceSpans"]]
        assert len(names) == len(set(names)), "one resourceSpans entry per service in a batch"
        services.update(names)
        for group in document["resourceSpans"]:
            assert group["scopeSpans"]
            assert all(scope["scope"]["name"] for scope in group["scopeSpans"])
    assert {"storefront-webhooks", "order-router", "erp-adapter", "pos-sync", "inventory-sync",
            "payment-gateway", "wms-adapter"} <= services


def test_spans_use_the_otlp_json_encoding(estate: Estate) -> None:
    ids = set()
    value_kinds: Counter[str] = Counter()
    for span in estate.spans:
        body = span.body
        assert HEX32.match(body["traceId"]) and body["traceId"] != "0" * 32
        assert HEX16.match(body["spanId"]) and body["spanId"] != "0" * 16
        assert "parentSpanId" not in body or HEX16.match(body["parentSpanId"])
        assert DECIMAL.match(body["startTimeUnixNano"]) and DECIMAL.match(body["endTimeUnixNano"])
        assert int(body["endTimeUnixNano"]) >= int(body["startTimeUnixNano"])
        assert type(body["kind"]) is int and body["kind"] in (2, 3, 4, 5)
        assert body["status"] == {} or (body["status"]["code"] == 2
                                        and isinstance(body["status"]["message"], str))
        assert body["name"]
        for pair in body["attributes"]:
            (kind, value), = pair["value"].items()
            assert kind in ANY_VALUE_KEYS
            value_kinds[kind] += 1
            if kind == "intValue":
                assert isinstance(value, str) and DECIMAL.match(value)
            if kind == "doubleValue":
                assert isinstance(value, float)
        for link in body.get("links", []):
            assert HEX32.match(link["traceId"]) and HEX16.match(link["spanId"])
        ids.add(body["spanId"])
    assert len(ids) == len(estate.spans), "span ids are unique"
    assert set(value_kinds) == ANY_VALUE_KEYS


def test_child_spans_have_their_parents_and_start_after_them(estate: Estate) -> None:
    by_id = {span.body["spanId"]: span.body for span in estate.spans}
    settled_by = NOW - timedelta(minutes=5)  # a parent may still be running at `now`
    for span in estate.spans:
        parent_id = span.body.get("parentSpanId")
        if parent_id is None or nanos(span.body["endTimeUnixNano"]) > settled_by:
            continue
        parent = by_id[parent_id]
        assert parent["traceId"] == span.body["traceId"]
        assert int(span.body["startTimeUnixNano"]) >= int(parent["startTimeUnixNano"])


def test_messaging_spans_carry_rabbitmq_attributes_and_hop_across_services(estate: Estate) -> None:
    by_id = {span.body["spanId"]: span for span in estate.spans}
    consumers = [span for span in estate.spans if span.body["kind"] == 5]
    producers = [span for span in estate.spans if span.body["kind"] == 4]
    assert consumers and producers
    for span in consumers + producers:
        attributes = span.attributes
        assert attributes["messaging.system"] == "rabbitmq"
        assert attributes["messaging.destination.name"]
        assert attributes["messaging.rabbitmq.destination.routing_key"]
        assert attributes["messaging.message.id"]
    for consumer in consumers:
        producer = by_id[consumer.body["parentSpanId"]]
        assert producer.body["kind"] == 4 and producer.service != consumer.service
        message_id = consumer.attributes["messaging.message.id"]
        assert producer.attributes["messaging.message.id"] == message_id
    linked = [span for span in estate.spans if span.body.get("links")]
    assert linked and all(link["traceId"] != span.body["traceId"]
                          for span in linked for link in span.body["links"])
    with_order = sum("retail.order_id" in span.attributes for span in estate.spans)
    assert with_order > len(estate.spans) * 0.9


def test_events_are_structured_mode_cloudevents(estate: Estate) -> None:
    states, _ = shipped_policy()
    types = set(states) | {"inventory.movement", "inventory.applied", "store.heartbeat"}
    for event in estate.events:
        assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
        assert SOURCES.match(event["source"]), event["source"]
        assert event["type"] in types
        assert RFC3339_MS.match(event["time"]) and RFC3339_MS.match(event["recordedtime"])
        assert when(event["recordedtime"]) >= when(event["time"])
        if event["type"] == "store.heartbeat":  # not sent in a traced call
            assert "traceparent" not in event and event["source"].startswith("/pos/store/")
        else:
            trace = TRACEPARENT.match(event["traceparent"])
            assert trace and set(trace[1]) != {"0"} and set(trace[2]) != {"0"}
        assert event["channel"] in CHANNELS
        assert "data_base64" not in event and isinstance(event["data"], dict)
    assert len({event["id"] for event in estate.events}) == len(estate.events)
    assert estate.batch_lines > 0, "some lines are JSON arrays (batches)"
    assert {event["type"] for event in estate.events} == types
    assert {event["source"] for event in estate.events} >= {
        "/shopify/acme", "/erp/d365", "/wms/dc1", "/payments/psp", "/middleware/order-router"}


def test_event_data_carries_order_and_movement_fields(estate: Estate) -> None:
    for event in estate.events:
        data = event["data"]
        if event["type"] == "store.heartbeat":
            assert set(data) == {"store_id", "tills_online"}
            assert event["source"] == f"/pos/store/{data['store_id']}"
        elif event["type"] in ("inventory.movement", "inventory.applied"):
            assert MOVEMENT_FIELDS <= set(data)
            assert data["kind"] in {"sale", "return", "adjustment", "transfer"}
            assert (event["type"] == "inventory.applied") == ("system" in data)
        else:
            assert ORDER_FIELDS <= set(data) and data["order_id"] == event["subject"]
            assert isinstance(data["amount"], float) and data["quantity"] >= 1
    names = [event["data"]["order_name"] for event in estate.events
             if event["type"] == "order.captured" and event["source"] == "/shopify/acme"]
    assert names[:3] == ["#1001", "#1002", "#1003"] and len(set(names)) == len(names)
    emails = {event["data"]["customer_email"] for event in estate.events
              if "order_id" in event["data"]}
    assert all(email is None or re.match(r"^[a-z]+\.[a-z]+\d*@[a-z.]+$", email) for email in emails)


def test_events_and_spans_join_on_the_traceparent(estate: Estate) -> None:
    spans = {(span.body["traceId"], span.body["spanId"]) for span in estate.spans}
    settled_by = NOW - timedelta(minutes=1)
    for event in estate.events:
        if when(event["recordedtime"]) < settled_by and event["type"] != "store.heartbeat":
            trace = TRACEPARENT.match(event["traceparent"])
            assert trace and (trace[1], trace[2]) in spans, event["id"]


def test_dead_letters_are_management_api_get_answers(estate: Estate) -> None:
    assert set(estate.dead_letters) == {"erp.orders.dlq", "erp.invoices.dlq"}
    for queue, messages in estate.dead_letters.items():
        assert messages
        assert [message["message_count"] for message in messages] == list(
            range(len(messages) - 1, -1, -1))
        for message in messages:
            assert message["exchange"] == "erp.dlx" and isinstance(message["redelivered"], bool)
            body = (message["payload"].encode() if message["payload_encoding"] == "string"
                    else base64.b64decode(message["payload"]))
            assert message["payload_encoding"] in ("string", "base64")
            assert message["payload_bytes"] == len(body)
            properties = message["properties"]
            assert properties["delivery_mode"] == 2 and type(properties["timestamp"]) is int
            assert properties["message_id"] and properties["content_type"] == "application/json"
            headers = properties["headers"]
            assert TRACEPARENT.match(headers["traceparent"]) and headers["x-order-id"]
            death, = headers["x-death"]
            assert type(death["count"]) is int and death["count"] >= 1
            assert type(death["time"]) is int and death["reason"] in REASONS
            assert death["queue"] == queue.removesuffix(".dlq") and death["exchange"] == "erp"
            assert death["routing-keys"] == [message["routing_key"]]
            assert headers["x-first-death-queue"] == death["queue"]
            assert headers["x-first-death-reason"] == death["reason"]
            assert headers["x-first-death-exchange"] == "erp"


def test_memory_stays_flat_as_the_estate_grows_tenfold(tmp_path: Path) -> None:
    def peak(orders: int) -> int:
        tracemalloc.start()
        try:
            generate(tmp_path / str(orders), orders=orders, seed=3, now=NOW)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    generate(tmp_path / "warm", orders=50, seed=3, now=NOW)  # imports and caches are not growth
    small, large = peak(800), peak(8_000)
    assert large <= 2 * small, (small, large)


def test_the_command_line_writes_an_estate(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--orders", "300", "--seed", "5", "--now", NOW.isoformat()]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["orders"] == 300 and report["events"] > 300
    assert (tmp_path / "manifest.json").is_file()
    assert (tmp_path / "events" / "events-001.jsonl").is_file()
    assert main([str(tmp_path), "--orders", "0"]) == 2


def test_chunks_rotate_without_splitting_a_line(tmp_path: Path) -> None:
    writer = RotatingJsonl(tmp_path, "events", max_lines=3)
    for number in range(7):
        writer.write(b'{"n":%d}\n' % number)
    stats = writer.close()
    assert [stat.path.name for stat in stats] == ["events-001.jsonl", "events-002.jsonl",
                                                  "events-003.jsonl"]
    assert [stat.lines for stat in stats] == [3, 3, 1]
    lines = [orjson.loads(line) for stat in stats for line in stat.path.read_bytes().splitlines()]
    assert [line["n"] for line in lines] == list(range(7))
