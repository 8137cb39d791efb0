"""The demo estate's story, seen through backroom's own queries after ingest through the collectors.

The generator writes a manifest of what it meant to happen; these tests check that a user of the
product sees exactly that: the SLA breaches, the offline store's lag, the outage's dead letters.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console import demo
from queries import Store, dlq, journey, lag, sla
from queries.policy import load

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POLICY = load()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("story")
    result = demo.build(folder / "demo.duckdb", orders=1500, seed=7, now=NOW)
    manifest = json.loads((result.estate_dir / "manifest.json").read_text())
    assert result.rejects == len(manifest["quarantine"]["rejects"])
    return Store.at(result.db), manifest


def test_the_damaged_input_planted_is_quarantined_line_by_line_and_nothing_else(
        built: tuple[Store, dict]) -> None:
    store, manifest = built
    planted = manifest["quarantine"]
    with store.reading() as cursor:
        found = cursor.execute("SELECT source, line, rejected_at FROM rejects").fetchall()
        replayed = cursor.execute("SELECT sum(skipped_duplicates) FROM ingest_log WHERE source LIKE '%till%'"
                                  ).fetchone()
        events = cursor.execute("SELECT count(*) FROM events").fetchone()
    estate = str(store.path.parent / "demo-estate")
    assert sorted((source.removeprefix(estate + "/"), line) for source, line, _ in found) == sorted(
        (entry["path"], entry["line"]) for entry in planted["rejects"])
    assert {at for _, _, at in found} == {NOW}  # a frozen demo was ingested at its `now`
    assert replayed == (planted["duplicates"],)  # the till replayed events the hub had sent
    assert events == (manifest["counts"]["events"],)  # and the damage added no row


def test_every_sla_breach_the_story_planted_is_reported_and_no_other(built: tuple[Store, dict]) -> None:
    store, manifest = built
    expected = {(b["order_id"], b["rule"], {"closed": "breached"}.get(b["status"], b["status"]))
                for b in manifest["sla_breaches"]}
    with store.reading() as cursor:
        report = sla.report(cursor, POLICY, NOW)
    found = {(b.order_id, b.rule, b.status) for b in report.breaches}
    assert found == expected
    assert all(rule.breached and rule.open for rule in report.rules), "each rule has both kinds"


def test_the_offline_store_has_the_worst_inventory_lag(built: tuple[Store, dict]) -> None:
    store, manifest = built
    with store.reading() as cursor:
        report = lag.report(cursor, POLICY, NOW, lag.LagBy.STORE)
    worst = max(report.rows, key=lambda row: row.max_seconds or 0)
    assert worst.key == manifest["offline_store"]["store_id"]
    assert worst.max_seconds >= 2 * 3600


def test_only_the_store_whose_uplink_is_down_is_quiet(built: tuple[Store, dict]) -> None:
    # Every store's back office beats every quarter of an hour, so one that sells little is not
    # quiet; the one cut off 47 minutes before now is, since its last beat or sale before that.
    store, manifest = built
    silent = manifest["silent_store"]
    since = datetime.fromisoformat(silent["since"])
    with store.reading() as cursor:
        report = lag.report(cursor, POLICY, NOW, lag.LagBy.STORE)
        stores = cursor.execute("SELECT count(DISTINCT store_id) FROM events WHERE system = 'pos'"
                                ).fetchone()
    assert stores is not None and stores[0] >= 12
    assert [quiet.store_id for quiet in report.quiet_stores] == [silent["store_id"]]
    last = report.quiet_stores[0].last_event_at
    assert since - timedelta(minutes=16) < last < since
    # and while the offline store was cut off it went quiet too, then came back
    offline = manifest["offline_store"]
    cut_off = datetime.fromisoformat(offline["end"]) - timedelta(minutes=5)
    with store.reading() as cursor:
        earlier = lag.report(cursor, POLICY, cut_off, lag.LagBy.STORE)
    assert [quiet.store_id for quiet in earlier.quiet_stores] == [offline["store_id"]]


def test_the_erp_outage_fills_the_dead_letter_queues(built: tuple[Store, dict]) -> None:
    store, manifest = built
    with store.reading() as cursor:
        groups = dlq.groups(cursor)
        poison = dlq.show(cursor, manifest["poison_message_id"])
    samples = " ".join(g.sample_error or "" for g in groups)
    assert "Timeout after 30000 ms" in samples and "Schema validation failed" in samples
    assert poison is not None and poison.reason == "delivery_limit" and poison.count >= 5
    assert poison.body.kind == "binary"  # gzip bytes, kept exactly and previewed as hex
    poison_groups = [g for g in groups if g.reason == "delivery_limit"]
    assert [g.count for g in poison_groups] == [1]


def test_a_boris_order_is_returned_at_a_store(built: tuple[Store, dict]) -> None:
    store, manifest = built
    boris = manifest["boris_orders"][0]
    with store.reading() as cursor:
        order_id = journey.resolve(cursor, boris["order_name"])[0]
        trip = journey.load(cursor, POLICY, order_id, NOW)
    assert trip is not None and trip.channel == "ecommerce"
    returned = next(s for s in trip.states if s.state == "return_received")
    assert returned.source == "pos"


def test_the_flash_sale_hour_and_the_launch_price_mismatch(built: tuple[Store, dict]) -> None:
    store, manifest = built
    with store.reading() as cursor:
        hours = Counter(row[0] for row in cursor.execute(
            "SELECT date_trunc('hour', first_at) FROM orders WHERE channel = 'ecommerce'").fetchall())
        prices = dict(cursor.execute(
            "SELECT channel, list(DISTINCT amount) FROM events "
            "WHERE sku = $sku AND type = 'order.captured' GROUP BY channel",
            {"sku": manifest["launch"]["sku"]}).fetchall())
    sale_hour = datetime.fromisoformat(manifest["flash_sale"]["start"])
    usual = sorted(hours.values())[len(hours) // 2]
    assert hours[sale_hour] == max(hours.values()) and hours[sale_hour] >= 6 * usual
    assert [float(p) for p in prices["pos"]] == [manifest["launch"]["pos_price"]]
    assert [float(p) for p in prices["ecommerce"]] == [manifest["launch"]["storefront_price"]]


def test_stuck_orders_sit_in_their_state_with_no_error(built: tuple[Store, dict]) -> None:
    store, manifest = built
    with store.reading() as cursor:
        for stuck in manifest["stuck_orders"][:5]:
            trip = journey.load(cursor, POLICY, stuck["order_id"], NOW)
            assert trip is not None and trip.state == stuck["state"] and trip.dlq == []
            assert all(span.status_code != 2 for span in trip.spans)


