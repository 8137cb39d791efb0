"""The demo estate's stories: the outage, the flash sale, the offline store, BORIS, the launch SKU,
stuck orders and SLA breaches, each visible in the files themselves (test_demo_estate.py: formats)."""

from __future__ import annotations

import base64
import gzip
import re
from collections import Counter, defaultdict
from datetime import timedelta

import orjson
import pytest

from collectors.demo import generate
from tests.demo_helpers import (
    NOW,
    ORDERS,
    Estate,
    breaches,
    nanos,
    order_states,
    read_estate,
    shipped_policy,
    when,
)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    root = tmp_path_factory.mktemp("estate")
    generate(root, orders=ORDERS, seed=7, now=NOW)
    return read_estate(root)


def test_the_outage_fills_the_dlqs_with_timeouts_schema_rejections_and_one_poison(
        estate: Estate) -> None:
    messages = [message for queue in estate.dead_letters.values() for message in queue]
    errors = [message["properties"]["headers"].get("x-exception-message") for message in messages]
    timeouts = [error for error in errors if error and error.startswith("Timeout after 30000 ms")]
    schema = [error for error in errors if error and error.startswith("Schema validation failed")]
    assert len(timeouts) >= 10 and len(schema) >= 3
    assert all(re.match(r"^Timeout after 30000 ms calling POST https://erp\.example/api/"
                        r"(salesorders/SO|salesinvoices/SI)-\d+$", error) for error in timeouts)
    assert len(set(timeouts)) > 5, "the ids vary from message to message"
    assert len({re.sub(r"\d+", "N", error) for error in timeouts}) == 2
    assert {re.sub(r"\d+", "N", error) for error in schema} == {
        "Schema validation failed: $.lines[N].tax_code is required"}
    poison = [message for message in messages
              if message["properties"]["headers"]["x-death"][0]["reason"] == "delivery_limit"]
    assert len(poison) == 1
    poisoned, = poison
    assert poisoned["properties"]["message_id"] == estate.manifest["poison_message_id"]
    assert poisoned["payload_encoding"] == "base64"
    assert poisoned["properties"]["headers"]["x-death"][0]["count"] >= 5
    body = base64.b64decode(poisoned["payload"])
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    order_id = poisoned["properties"]["headers"]["x-order-id"]
    assert orjson.loads(gzip.decompress(body))["order_id"] == order_id


def test_outage_orders_stop_before_the_erp_step_and_erp_spans_fail(estate: Estate) -> None:
    outage = estate.manifest["erp_outage"]
    start, end = when(outage["start"]), when(outage["end"])
    assert timedelta(minutes=30) <= end - start <= timedelta(minutes=50)
    affected = estate.manifest["erp_outage_orders"]
    assert len(affected) == outage["affected_orders"] >= 10
    stops = {"erp.orders.dlq": "inventory.reserved", "erp.invoices.dlq": "invoice.posted"}
    reached = {(event["subject"], event["type"]) for event in estate.events if "subject" in event}
    for order in affected:
        assert (order["order_id"], stops[order["queue"]]) not in reached
        assert (order["order_id"], "settlement.completed") not in reached
    failed = [span for span in estate.spans
              if span.service == "erp-adapter" and span.body["status"].get("code") == 2
              and start <= nanos(span.body["startTimeUnixNano"]) < end]
    assert len(failed) >= len(affected)
    in_window = [span for span in estate.spans if span.service == "erp-adapter"
                 and start <= nanos(span.body["startTimeUnixNano"]) < end]
    assert all(span.body["status"].get("code") == 2 for span in in_window)


def test_the_flash_sale_hour_has_eight_times_the_storefront_orders(estate: Estate) -> None:
    flash = estate.manifest["flash_sale"]

    def storefront_orders(since: str, until: str) -> int:
        return sum(1 for event in estate.events
                   if event["type"] == "order.captured" and event["source"] == "/shopify/acme"
                   and event["channel"] == "ecommerce"
                   and when(since) <= when(event["time"]) < when(until))

    sale = storefront_orders(flash["start"], flash["end"])
    normal = storefront_orders(flash["baseline_start"], flash["baseline_end"])
    assert when(flash["end"]) - when(flash["start"]) == timedelta(hours=1)
    assert when(flash["start"]) - when(flash["baseline_start"]) == timedelta(days=1)
    assert normal >= 10 and 6.5 <= sale / normal <= 9.5
    assert (sale, normal) == (flash["orders"], flash["baseline_orders"])


def test_the_offline_store_syncs_hours_late_and_lags_inventory(estate: Estate) -> None:
    offline = estate.manifest["offline_store"]
    source, start, end = offline["source"], when(offline["start"]), when(offline["end"])
    lags = [(when(event["time"]), when(event["recordedtime"]) - when(event["time"]))
            for event in estate.events if event["source"] == source]
    during = [lag for at, lag in lags if start <= at < end]
    outside = [lag for at, lag in lags if not start <= at < end]
    assert len(during) >= 3 and min(during) > timedelta(minutes=5)
    assert max(during) > timedelta(hours=2)
    assert outside and max(outside) < timedelta(minutes=1)
    moved = {event["data"]["movement_id"]: when(event["time"]) for event in estate.events
             if event["type"] == "inventory.movement" and event["source"] == source
             and start <= when(event["time"]) < end}
    applied = [when(event["time"]) - moved[event["data"]["movement_id"]]
               for event in estate.events if event["type"] == "inventory.applied"
               and event["data"]["movement_id"] in moved]
    assert moved and max(applied) > timedelta(hours=2)


def test_boris_orders_are_bought_online_and_returned_in_a_store(estate: Estate) -> None:
    boris = estate.manifest["boris_orders"]
    assert len(boris) >= 3
    for order in boris:
        events = estate.events_of(order["order_id"])
        captured = next(event for event in events if event["type"] == "order.captured")
        assert captured["source"] == "/shopify/acme" and captured["channel"] == "ecommerce"
        received = next(event for event in events if event["type"] == "return.received")
        assert received["source"] == f"/pos/store/{order['store_id']}"
        assert received["data"]["store_id"] == order["store_id"]
        returns = [event for event in events if event["type"] == "inventory.movement"]
        assert any(event["data"]["kind"] == "return" and event["data"]["quantity"] > 0
                   and event["data"]["store_id"] == order["store_id"] for event in returns)


def test_the_launch_sku_sells_at_one_price_in_stores_and_another_online(estate: Estate) -> None:
    launch = estate.manifest["launch"]
    prices = defaultdict(set)
    for event in estate.events:
        if event["type"] == "order.captured" and event["data"]["sku"] == launch["sku"]:
            assert when(event["time"]) >= when(launch["at"])
            prices[event["channel"]].add(event["data"]["amount"] / event["data"]["quantity"])
    assert prices["pos"] == {launch["pos_price"]}
    assert prices["ecommerce"] == {launch["storefront_price"]}
    assert launch["pos_price"] != launch["storefront_price"]


def test_nothing_lies_after_now_or_much_before_two_days(estate: Estate) -> None:
    earliest = NOW - timedelta(hours=51)
    for event in estate.events:
        assert earliest <= when(event["time"]) <= when(event["recordedtime"]) <= NOW
    for span in estate.spans:
        assert earliest <= nanos(span.body["startTimeUnixNano"])
        assert nanos(span.body["endTimeUnixNano"]) <= NOW
    limit = int(NOW.timestamp())
    for message in (m for queue in estate.dead_letters.values() for m in queue):
        assert message["properties"]["timestamp"] <= limit
        assert all(death["time"] <= limit for death in message["properties"]["headers"]["x-death"])


def test_the_manifest_sla_breaches_are_what_the_events_show(estate: Estate) -> None:
    states, rules = shipped_policy()
    expected = breaches(order_states(estate, states), rules, NOW)
    listed = {(entry["order_id"], entry["rule"], entry["status"])
              for entry in estate.manifest["sla_breaches"]}
    assert listed == expected
    for rule in rules:
        statuses = Counter(status for _, name, status in expected if name == rule.name)
        assert statuses["closed"] >= 1 and statuses["open"] >= 1, rule.name


def test_stuck_orders_went_quiet_without_an_error_anywhere(estate: Estate) -> None:
    stuck = estate.manifest["stuck_orders"]
    assert len(stuck) >= 5
    assert {order["state"] for order in stuck} >= {"captured", "payment_authorized",
                                                   "inventory_reserved", "shipped"}
    dead = {message["properties"]["headers"]["x-order-id"]
            for queue in estate.dead_letters.values() for message in queue}
    failed = {span.attributes.get("retail.order_id") for span in estate.spans
              if span.body["status"].get("code") == 2}
    states, _ = shipped_policy()
    for order in stuck:
        events = [event for event in estate.events_of(order["order_id"]) if event["type"] in states]
        assert states[events[-1]["type"]] == order["state"]
        assert NOW - when(events[-1]["time"]) > timedelta(hours=1)
        assert order["order_id"] not in dead and order["order_id"] not in failed


def test_store_movements_are_applied_by_the_erp_and_the_storefront(estate: Estate) -> None:
    applied = defaultdict(set)
    for event in estate.events:
        if event["type"] == "inventory.applied":
            applied[event["data"]["movement_id"]].add(event["data"]["system"])
    unapplied = {entry["movement_id"] for entry in estate.manifest["unapplied_movements"]}
    assert unapplied
    stale = NOW - timedelta(minutes=15)
    kinds = Counter()
    for event in estate.events:
        if event["type"] != "inventory.movement" or when(event["recordedtime"]) > stale:
            continue
        kinds[event["data"]["kind"]] += 1
        movement = event["data"]["movement_id"]
        expected = {"erp"} if movement in unapplied else {"erp", "ecommerce"}
        assert expected <= applied[movement], movement
    assert set(kinds) == {"sale", "return", "adjustment", "transfer"}


def test_orders_are_found_in_every_state(estate: Estate) -> None:
    states, _ = shipped_policy()
    latest = Counter(max(order["states"], key=order["states"].__getitem__)
                     for order in order_states(estate, states).values())
    assert set(latest) == set(states.values())
    assert latest["settled"] > 0 and latest["invoiced"] > latest["captured"]
