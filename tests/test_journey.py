"""Order journeys: any key finds the order, and the journey stitches events, traces and dead letters."""

from __future__ import annotations

import pytest

from queries import Store, journey, schema, search
from queries.ingest import Table
from queries.policy import load
from tests.estate import add_events, add_rows, dead_letter, event, minutes, span, uncovered_spans

POLICY = load()
WEB = "4bf92f3577b34da6a3ce929d0e0e4736"   # the storefront's trace of order 1042
ERP = "0af7651916cd43dd8448eb211c80319c"   # a later, asynchronous hop to the ERP (its own trace)


@pytest.fixture
def estate(store: Store) -> Store:
    add_events(store, [
        event("SO-1042", "order.captured", minutes(0), order_name="#1042",
              customer_email="Dana@Example.com", trace_id=WEB),
        event("SO-1042", "payment.authorized", minutes(1), system="payment", trace_id=WEB),
        # recorded by the middleware a minute before the store says it happened: clock skew
        event("SO-1042", "inventory.reserved", minutes(9), recorded=minutes(8), system="erp"),
        event("SO-2001", "order.captured", minutes(30), order_name="#2001",
              customer_email="dana@example.com", sku="TEE-RED-M", store_id="0042"),
        event("SO-2002", "order.captured", minutes(31), order_name="#2002", sku="TEE-RED-M"),
    ])
    add_rows(store, Table.SPANS, [
        span(WEB, "a" * 16, "storefront-webhooks", "POST /orders", minutes(0), 120,
             order_id="SO-1042"),
        span(WEB, "b" * 16, "order-router", "publish erp.orders", minutes(0.01), 15,
             parent_span_id="a" * 16, message_id="m-77"),
        span(ERP, "c" * 16, "erp-adapter", "POST /api/salesorders", minutes(2), 30000,
             status_code=2, status_message="timeout", order_id="SO-1042"),
        span("f" * 32, "d" * 16, "erp-adapter", "unrelated", minutes(2), 5),
    ])
    add_rows(store, Table.DLQ_MESSAGES, [
        dead_letter("dl-1", "erp.orders.dlq", "SO-1042", message_id="m-77", trace_id=ERP,
                    error_text="Timeout after 30000 ms", fingerprint="g-timeout"),
    ])
    return store


@pytest.mark.parametrize("key", ["SO-1042", "#1042", "1042", WEB.upper(), ERP, "m-77", "dl-1"])
def test_every_kind_of_key_finds_the_order(estate: Store, key: str) -> None:
    with estate.reading() as cursor:
        assert journey.resolve(cursor, key)[0] == "SO-1042"


@pytest.mark.parametrize(("key", "order_id"), [
    ("SO-3001", "SO-3001"), ("dl-9", "SO-3001"), ("SO-3002", "SO-3002"), ("e" * 32, "SO-3002")])
def test_an_order_no_event_named_is_found_by_its_dead_letters_and_spans(
        estate: Store, key: str, order_id: str) -> None:
    # The capture itself died (SO-3001), or only a trace has seen the order so far (SO-3002):
    # the support agent's order number must still open what backroom holds of it.
    add_rows(estate, Table.DLQ_MESSAGES, [
        dead_letter("dl-9", "erp.orders.dlq", "SO-3001", error_text="schema invalid")])
    add_rows(estate, Table.SPANS, [
        span("e" * 32, "e" * 16, "storefront-webhooks", "POST /orders", minutes(40), 80,
             order_id="SO-3002")])
    with estate.reading() as cursor:
        found = journey.find(cursor, load(), key, minutes(60))
        hits = search.search(cursor, key).orders
    assert found is not None and found.order_id == order_id and found.state is None
    assert [d.id for d in found.dlq] == (["dl-9"] if order_id == "SO-3001" else [])
    assert [s.span_id for s in found.spans] == ([] if order_id == "SO-3001" else ["e" * 16])
    assert [hit.order_id for hit in hits] == [order_id]


def test_an_email_finds_all_its_orders_newest_first_whatever_its_case(estate: Store) -> None:
    with estate.reading() as cursor:
        assert journey.resolve(cursor, "DANA@example.COM") == ["SO-2001", "SO-1042"]


def test_an_unknown_key_finds_nothing(estate: Store) -> None:
    with estate.reading() as cursor:
        assert journey.resolve(cursor, "#9999") == []


@pytest.mark.parametrize(("key", "order_id", "others"), [
    (" SO-1042 ", "SO-1042", []), ("#1042", "SO-1042", []), ("dl-1", "SO-1042", []),
    ("dana@example.com", "SO-2001", ["SO-1042"]), ("#9999", None, None),
])
def test_find_gives_the_journey_a_key_names(estate: Store, key: str, order_id: str | None,
                                            others: list[str] | None) -> None:
    """What `order KEY` and the console run: an exact id straight from its row, else resolved."""
    with estate.reading() as cursor:
        found = journey.find(cursor, POLICY, key, minutes(20))
        same = journey.load(cursor, POLICY, order_id, minutes(20),
                            other_orders=journey.resolve(cursor, key)) if order_id else None
    assert (found.order_id, found.other_orders) == (order_id, others) if found else order_id is None
    assert found == same


def test_the_journey_stitches_every_trace_the_order_touched(estate: Store) -> None:
    with estate.reading() as cursor:
        order = journey.load(cursor, POLICY, "SO-1042", minutes(20))
    assert order is not None
    assert (order.order_name, order.channel, order.state) == ("#1042", "ecommerce", "inventory_reserved")
    assert order.age_seconds == 11 * 60
    assert [(s.state, s.source) for s in order.states] == [
        ("captured", "ecommerce"), ("payment_authorized", "payment"), ("inventory_reserved", "erp")]
    assert order.trace_ids == sorted([WEB, ERP])
    # the router's publish span carries no order id, but belongs to the order's trace
    assert [s.span_id[0] for s in order.spans] == ["a", "b", "c"]
    assert order.spans[2].status_code == 2
    assert [(d.id, d.group) for d in order.dlq] == [("dl-1", "g-timeout")]
    assert [e.recorded_before_occurred for e in order.events] == [False, False, True]
    assert {row.rule: row.status for row in order.sla} == {
        "capture-to-reserve": "breached", "capture-to-release": "pending"}


def test_spans_of_a_trace_that_arrive_later_or_without_a_time_are_stitched_too(estate: Store) -> None:
    # a consumer's span of the storefront's trace, stored a day later by another batch, naming no
    # order; and a span with no start time: neither lies in the window the first batch noted
    add_rows(estate, Table.SPANS, [
        span(WEB, "e" * 16, "erp-consumer", "consume erp.orders", minutes(24 * 60), 8,
             parent_span_id="b" * 16),
        {**span(ERP, "9" * 16, "erp-adapter", "retry", minutes(0), 1), "start_time": None,
         "end_time": None, "duration_ms": None},
    ])
    # and one stored with no ingest id, as a store written before ingest ids holds it
    add_rows(estate, Table.SPANS, [span(ERP, "8" * 16, "erp-adapter", "ack", minutes(3), 1)],
             stamped=False)
    assert uncovered_spans(estate) == 0
    with estate.reading() as cursor:
        order = journey.load(cursor, POLICY, "SO-1042", minutes(20))
    assert order is not None
    assert sorted(s.span_id[0] for s in order.spans) == ["8", "9", "a", "b", "c", "e"]
    assert order.spans[-1].span_id[0] == "9"  # no start time: last, as SQL orders NULLs


def test_an_order_with_very_many_trace_windows_is_stitched_by_one_scan(
        estate: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journey, "WINDOW_SCANS", 1)  # the order's two traces are two windows
    with estate.reading() as cursor:
        order = journey.load(cursor, POLICY, "SO-1042", minutes(20))
    assert order is not None and [s.span_id[0] for s in order.spans] == ["a", "b", "c"]


def test_a_store_from_before_trace_windows_gets_them_when_migrated(estate: Store) -> None:
    with estate.writing() as cursor:
        cursor.execute("DELETE FROM trace_windows")
        cursor.execute(next(text for version, text in schema.MIGRATIONS if version == 6))
    assert uncovered_spans(estate) == 0
    with estate.reading() as cursor:
        order = journey.load(cursor, POLICY, "SO-1042", minutes(20))
    assert order is not None and [s.span_id[0] for s in order.spans] == ["a", "b", "c"]


def test_search_ranks_exact_identifiers_before_skus_and_pages(estate: Store) -> None:
    with estate.reading() as cursor:
        by_sku = search.search(cursor, "TEE-RED-M")
        by_store = search.search(cursor, "0042")
        by_prefix = search.search(cursor, "SO-20", limit=1)
        second_page = search.search(cursor, "SO-20", limit=1, offset=1)
        nothing = search.search(cursor, "no such thing")
    assert [(h.order_id, h.matched) for h in by_sku.orders] == [("SO-2002", "sku"), ("SO-2001", "sku")]
    assert [(h.order_id, h.matched) for h in by_store.orders] == [("SO-2001", "store")]
    assert by_prefix.total == 2 and [h.order_id for h in by_prefix.orders] == ["SO-2002"]
    assert [h.order_id for h in second_page.orders] == ["SO-2001"]
    assert nothing.total == 0 and nothing.orders == []
