"""SQS dead letters from `aws sqs receive-message`; all six formats told apart; odd input."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import ingest_paths
from collectors.detect import detect
from collectors.jaeger import JaegerParser
from collectors.kafka_dlq import KafkaDlqParser
from collectors.rabbitmq_dump import dead_letter_id
from collectors.rows import Parser, Where
from collectors.sqs_dlq import SqsDlqParser, queue_name, xray_trace_id
from queries import Store
from queries.policy import Policy, load

FIXTURES = Path(__file__).parent / "fixtures" / "collect"
RECEIVED = FIXTURES / "orders-dlq.json"
FIRST_ID = "5fea7756-0ea4-451a-a703-a558b933e274"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq"


@pytest.fixture
def policy() -> Policy:
    return load()


def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


def message(message_id: str, body: str = '{"order_id": "SO-5"}',
            **attributes: Any) -> dict[str, Any]:
    return {"MessageId": message_id, "ReceiptHandle": f"AQEB{message_id}", "Body": body,
            "Attributes": {"SentTimestamp": "1767225600000", "ApproximateReceiveCount": "3",
                           **attributes}}


def write(path: Path, document: Any) -> Path:
    path.write_bytes(orjson.dumps(document))
    return path


def test_a_received_batch_fills_every_column(store: Store, policy: Policy) -> None:
    report = ingest_paths(store, [RECEIVED], policy=policy)

    assert (report.sources[0].format, report.rows["dlq_messages"], report.rejects) == (
        "sqs-dlq", 2, 0)
    row = query(store, "SELECT broker, queue, vhost, original_exchange, original_routing_key, "
                       "original_queue, reason, death_count, epoch_ms(first_death_at), "
                       "epoch_ms(last_death_at), message_id, content_type, body, body_sha256, "
                       "error_text, order_id, trace_id, status FROM dlq_messages "
                       f"WHERE message_id = '{FIRST_ID}'")
    body = b'{"order_id":"SO-1001","total":"19.99"}'
    assert row == [(
        "sqs", "orders-dlq", None, None, None, "orders", "maxReceiveCount exceeded", 4,
        1767225600125, 1767225601000, FIRST_ID, "application/json", body,
        hashlib.sha256(body).hexdigest(), None, "SO-1001", "5759e988bd862e3fe1be46a994272793",
        "dead",
    )]
    properties, headers = query(store, "SELECT properties, headers FROM dlq_messages "
                                       f"WHERE message_id = '{FIRST_ID}'")[0]
    assert "ReceiptHandle" not in json.loads(properties)
    assert json.loads(properties)["Attributes"]["DeadLetterQueueSourceArn"].endswith(":orders")
    assert json.loads(headers)["x-order-id"] == {"DataType": "String", "StringValue": "SO-1001"}


def test_error_attributes_name_the_reason_and_a_traceparent_gives_the_trace(
    store: Store, policy: Policy
) -> None:
    ingest_paths(store, [RECEIVED], policy=policy)

    row = query(store, "SELECT original_queue, reason, error_text, death_count, trace_id, body "
                       "FROM dlq_messages WHERE original_queue = 'refunds'")
    assert row == [("refunds", "GatewayError", "Refund gateway returned 502 for R-77", 11,
                    "0af7651916cd43dd8448eb211c80319c", b"refund R-77 failed")]


def test_receiving_the_same_messages_again_adds_nothing(store: Store, tmp_path: Path,
                                                        policy: Policy) -> None:
    # A later receive: new receipt handles, higher receive counts, wrapped with the queue URL.
    again = orjson.loads(RECEIVED.read_bytes())["Messages"]
    for received in again:
        received["ReceiptHandle"] += "-2"
        received["Attributes"]["ApproximateReceiveCount"] = "12"
    wrapped = write(tmp_path / "receive-2026-01-02.json", {"QueueUrl": QUEUE_URL,
                                                           "Messages": again})

    first = ingest_paths(store, [RECEIVED], policy=policy)
    second = ingest_paths(store, [wrapped], policy=policy)

    assert (first.rows["dlq_messages"], second.rows["dlq_messages"]) == (2, 0)
    assert second.skipped_duplicates == 2
    (stable_id, sha), = query(store, "SELECT id, body_sha256 FROM dlq_messages "
                                     f"WHERE message_id = '{FIRST_ID}'")
    assert stable_id == dead_letter_id("sqs", None, "orders-dlq", FIRST_ID, sha,
                                       1767225600125 * 1000)


def test_queue_name_comes_from_the_wrapper_else_the_file_name(store: Store, tmp_path: Path,
                                                              policy: Policy) -> None:
    write(tmp_path / "payments-dlq.json", {"Messages": [message("m-1")]})
    write(tmp_path / "dump.json", {"queue": "arn:aws:sqs:eu-west-1:1:shop-dlq",
                                   "Messages": [message("m-2")]})
    write(tmp_path / "empty.json", {"QueueUrl": QUEUE_URL})  # an empty receive
    report = ingest_paths(store, [tmp_path], fmt="sqs-dlq", policy=policy)

    assert (report.rows["dlq_messages"], report.rejects) == (2, 0)
    assert query(store, "SELECT message_id, queue, original_queue, reason, order_id "
                        "FROM dlq_messages ORDER BY 1") == [
        ("m-1", "payments-dlq", None, "maxReceiveCount exceeded", "SO-5"),
        ("m-2", "shop-dlq", None, "maxReceiveCount exceeded", "SO-5"),
    ]


@pytest.mark.parametrize(("header", "trace_id"), [
    ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
     "5759e988bd862e3fe1be46a994272793"),
    ("Parent=53995c3f42cd8ad8; root=1-5759E988-BD862E3FE1BE46A994272793",
     "5759e988bd862e3fe1be46a994272793"),
    ("Root=1-00000000-000000000000000000000000", None),
    ("Root=2-5759e988-bd862e3fe1be46a994272793", None),
    ("Root=1-5759e988-bd862e3f", None),
    ("", None),
])
def test_x_ray_roots_become_w3c_trace_ids(header: str, trace_id: str | None) -> None:
    assert xray_trace_id(header) == trace_id


@pytest.mark.parametrize(("address", "name"), [
    (QUEUE_URL, "orders-dlq"), ("arn:aws:sqs:eu-west-1:123456789012:orders", "orders"),
    ("orders.fifo", "orders.fifo"), ("", None), (None, None),
])
def test_queue_names_from_urls_and_arns(address: Any, name: str | None) -> None:
    assert queue_name(address) == name


def test_unusable_messages_are_rejected_and_the_rest_stored(store: Store, tmp_path: Path,
                                                            policy: Policy) -> None:
    no_body = message("m-2")
    del no_body["Body"]
    response = {"Messages": [message("m-1"), no_body, message("m-3", body=7),  # type: ignore[arg-type]
                             "not a message", message("m-5", ApproximateReceiveCount="many")]}
    report = ingest_paths(store, [write(tmp_path / "q.json", response)], policy=policy)

    assert (report.rows["dlq_messages"], report.rejects, report.records) == (2, 3, 5)
    assert query(store, "SELECT line, reason FROM rejects ORDER BY reason") == [
        (1, "message 2: missing Body"), (1, "message 3: Body is not a string"),
        (1, "message 4: not a message object"),
    ]
    assert query(store, "SELECT message_id, death_count FROM dlq_messages ORDER BY 1") == [
        ("m-1", 3), ("m-5", None)]


def test_a_pretty_sqs_file_with_a_misleading_name_is_detected_by_content(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    shutil.copy(RECEIVED, tmp_path / "events.jsonl")

    report = ingest_paths(store, [tmp_path], policy=policy)

    assert [source.format for source in report.sources] == ["sqs-dlq"]
    assert report.rows["dlq_messages"] == 2


def test_all_six_formats_in_one_folder_are_told_apart_by_content(
    store: Store, tmp_path: Path, policy: Policy
) -> None:
    # Every file is named as if it were another format.
    shutil.copy(FIXTURES / "otlp_request_pretty.json", tmp_path / "a-jaeger.json")
    shutil.copy(FIXTURES / "jaeger_download.json", tmp_path / "b-otlp.json")
    shutil.copy(FIXTURES / "erp.orders.dlq.json", tmp_path / "c-kafka.jsonl")
    shutil.copy(FIXTURES / "connect-dlq.kcat.jsonl", tmp_path / "d-sqs.json")
    shutil.copy(RECEIVED, tmp_path / "e-rabbitmq.json")
    (tmp_path / "f-traces.json").write_bytes(orjson.dumps(
        {"specversion": "1.0", "id": "e-1", "source": "/pos/store/0042",
         "type": "order.captured", "subject": "SO-1"}) + b"\n")

    report = ingest_paths(store, [tmp_path], policy=policy)

    assert {Path(source.path).name: source.format for source in report.sources} == {
        "a-jaeger.json": "otlp", "b-otlp.json": "jaeger", "c-kafka.jsonl": "rabbitmq-dlq",
        "d-sqs.json": "kafka-dlq", "e-rabbitmq.json": "sqs-dlq", "f-traces.json": "events",
    }
    assert report.rows == {"spans": 6, "events": 1, "dlq_messages": 8}


@pytest.mark.parametrize(("head", "fmt"), [
    # The first line is too long to parse from the head: the first marker key decides.
    (b'{"data": [{"traceID": "7a3c", "spans": [{"spanID": ', "jaeger"),
    (b'{"topic":"dlq","partition":0,"offset":1,"tstype":"create","headers":["x', "kafka-dlq"),
    (b'{"topic":"dlq","headers":["__connect.errors.topic", "erp"', "kafka-dlq"),
    (b'{"Messages": [{"MessageId": "5fea", "Body": "{\\"x-death\\": 1', "sqs-dlq"),
])
def test_cut_heads_are_detected_by_their_marker_keys(head: bytes, fmt: str) -> None:
    assert detect(head) == fmt


# Hostile input for the three new parsers: valid documents with parts swapped for odd values.
_POLICY = load()
_DOCUMENTS: dict[str, tuple[Any, Callable[[], Parser]]] = {
    "jaeger": (orjson.loads((FIXTURES / "jaeger_download.json").read_bytes()),
               lambda: JaegerParser("x", _POLICY)),
    "kafka-dlq": ([orjson.loads(line) for line in
                   (FIXTURES / "connect-dlq.kcat.jsonl").read_bytes().splitlines()],
                  lambda: KafkaDlqParser("x", _POLICY, seen_at=0)),
    "sqs-dlq": (orjson.loads(RECEIVED.read_bytes()), lambda: SqsDlqParser("q.json", _POLICY, 0)),
}
_ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
    st.text(max_size=30), st.just([]), st.just({}), st.just([None]),
    st.sampled_from(["", " ", "\x00", "NaN", "0" * 32, "0" * 16, "-1", "9" * 30, "CHILD_OF",
                     "Root=1-00000000-000000000000000000000000", "__connect.errors.topic"]),
).filter(lambda value: not (isinstance(value, float) and abs(value) == float("inf")))


def _places(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    return [prefix, *(place for key, inner in items for place in _places(inner, (*prefix, key)))]


def _mutated(document: Any, mutations: list[tuple[int, Any, bool]]) -> Any:
    result = copy.deepcopy(document)
    for choice, value, delete in mutations:
        places = [place for place in _places(result) if place]
        if not places:
            break
        *path, last = places[choice % len(places)]
        parent = functools.reduce(lambda inner, key: inner[key], path, result)
        if delete and isinstance(parent, dict):
            del parent[last]
        else:
            parent[last] = copy.deepcopy(value)
    return result


@pytest.mark.parametrize("fmt", sorted(_DOCUMENTS))
@settings(max_examples=300, deadline=None)
@given(mutations=st.lists(st.tuples(st.integers(0, 10_000), _ODD, st.booleans()),
                          min_size=1, max_size=4))
def test_the_new_parsers_never_raise_and_their_rows_fit_the_schema(
    fmt: str, mutations: list[tuple[int, Any, bool]]
) -> None:
    document, make_parser = _DOCUMENTS[fmt]
    odd = _mutated(document, mutations)
    parser = make_parser()

    rejects = parser.feed(odd, Where(1, 0, orjson.dumps(odd)))
    rows = parser.buffer.take(ingest_id=1)

    assert rows.schema == parser.buffer.schema
    if fmt == "kafka-dlq" and isinstance(odd, list):
        assert rows.num_rows + len(rejects) == len(odd)
