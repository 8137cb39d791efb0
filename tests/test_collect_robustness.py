"""Hostile input: valid documents with any part swapped for odd values never crash a collector."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import ingest_paths
from collectors.cloudevents import EventsParser
from collectors.otlp import OtlpParser
from collectors.rabbitmq_dump import DlqDumpParser
from collectors.rows import Parser, Where
from queries import Store
from queries.policy import load

FIXTURES = Path(__file__).parent / "fixtures" / "collect"
POLICY = load()
EVENT = {
    "specversion": "1.0", "id": "e-1", "source": "/shopify/acme", "type": "order.captured",
    "subject": "SO-1", "time": "2026-01-01T10:00:00.125Z", "recordedtime": "2026-01-01T10:00:01Z",
    "channel": "ecommerce",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "data": {"order_id": "SO-1", "order_name": "#1", "customer_email": "a@example.com",
             "store_id": "1", "sku": "S", "quantity": 2, "amount": "19.99", "currency": "EUR",
             "movement_id": "m", "kind": "sale", "system": "erp"},
}
DOCUMENTS: dict[str, tuple[Any, Callable[[], Parser]]] = {
    "otlp": (json.loads((FIXTURES / "otlp_request_pretty.json").read_text()),
             lambda: OtlpParser("x", POLICY)),
    "events": (EVENT, lambda: EventsParser("x", POLICY)),
    "rabbitmq-dlq": (json.loads((FIXTURES / "erp.orders.dlq.json").read_text()),
                     lambda: DlqDumpParser("q.dlq.json", POLICY, seen_at=0)),
}
ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
    st.text(max_size=30), st.just([]), st.just({}), st.just([None]),
    st.sampled_from(["", " ", "\x00", "NaN", "1e400", "0" * 32, "0" * 16, "====", "9" * 30,
                     "2026-13-45T99:99:99Z", "0001-01-01T00:00:00+01:00", "base64", "x" * 500,
                     "9999-12-31T23:59:59-01:00", "STATUS_CODE_ERROR", "SPAN_KIND_CLIENT"]),
).filter(lambda value: not (isinstance(value, float) and abs(value) == float("inf")))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, inner in items:
        yield from _paths(inner, (*prefix, key))


def mutated(document: Any, mutations: list[tuple[int, Any, bool]]) -> Any:
    """A copy of `document` with parts replaced by odd values, or deleted."""
    result = copy.deepcopy(document)
    for choice, value, delete in mutations:
        paths = [path for path in _paths(result) if path]
        if not paths:
            break
        path = paths[choice % len(paths)]
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        if delete and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(value)
    return result


MUTATIONS = st.lists(st.tuples(st.integers(0, 10_000), ODD, st.booleans()), min_size=1, max_size=4)


@pytest.mark.parametrize("fmt", sorted(DOCUMENTS))
@settings(max_examples=300, deadline=None)
@given(mutations=MUTATIONS)
def test_parsers_never_raise_and_their_rows_fit_the_schema(
    fmt: str, mutations: list[tuple[int, Any, bool]]
) -> None:
    document, make_parser = DOCUMENTS[fmt]
    odd = mutated(document, mutations)
    parser = make_parser()

    rejects = parser.feed(odd, Where(1, 0, orjson.dumps(odd)))
    rows = parser.buffer.take(ingest_id=1)

    assert rows.schema == parser.buffer.schema
    if fmt == "events":
        assert rows.num_rows + len(rejects) == 1
    if fmt == "rabbitmq-dlq" and isinstance(odd, list):
        assert rows.num_rows + len(rejects) == len(odd)


@pytest.mark.parametrize("fmt", sorted(DOCUMENTS))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=MUTATIONS)
def test_odd_documents_go_through_the_store(
    store: Store, tmp_path_factory: pytest.TempPathFactory, fmt: str,
    mutations: list[tuple[int, Any, bool]],
) -> None:
    document, _ = DOCUMENTS[fmt]
    path = tmp_path_factory.mktemp("odd") / "odd.dlq.json"
    path.write_bytes(orjson.dumps(mutated(document, mutations)) + b"\n")

    report = ingest_paths(store, [path], fmt=fmt, policy=POLICY)

    assert report.records == sum(report.rows.values()) + report.skipped_duplicates + report.rejects
