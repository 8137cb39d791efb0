"""The overview's KPIs against a two-hour estate worked out by hand (buckets (0, 60] and (60, 120])."""

from __future__ import annotations

from queries import Store, kpis
from queries.ingest import Table
from queries.policy import load
from tests.estate import add_events, add_rows, dead_letter, event, minutes


def test_kpis_and_their_hourly_series(store: Store) -> None:
    add_events(store, [
        event("A", "order.captured", minutes(10)), event("A", "settlement.completed", minutes(70)),
        event("B", "order.captured", minutes(90)),
        event(None, "inventory.movement", minutes(20), system="pos", movement_id="M1", store_id="0001"),
        event(None, "inventory.applied", minutes(25), system="erp", movement_id="M1", applied_system="erp"),
        event("P", "order.captured", minutes(50), channel="pos", system="pos", recorded=minutes(52)),
        event("C", "refund.issued", minutes(100), system="erp"),
        event("D", "refund.issued", minutes(40), system="erp"),
    ])
    add_rows(store, Table.DLQ_MESSAGES, [dead_letter("d1", "refunds.dlq", "D", first_death_at=minutes(45))])
    with store.reading() as cursor:
        overview = kpis.overview(cursor, load(), minutes(120), hours=2)
    # end of hour 1: A, P and D are unsettled; end of hour 2: A settled, B and C arrived -> B, P, C, D
    assert overview.kpi("order backlog").series == [3, 4] and overview.kpi("order backlog").value == 4
    assert overview.backlog_by_state == {"captured": 2, "refund_issued": 2}
    # capture-to-reserve (5 min, ecommerce): A's deadline at 15 min, B's at 95 min, both missed
    breaches = overview.kpi("open SLA breaches")
    assert breaches.series == [1, 1] and breaches.value == 2
    assert overview.kpi("dead letters").series == [1, 0] and overview.kpi("dead letters").value == 1
    assert overview.kpi("inventory lag p95").series == [300, None]
    # POS events in the first hour: the movement (0 s) and P (120 s) -> p95 = 114 s
    assert overview.kpi("store sync latency p95").series == [114, None]
    assert overview.kpi("refund failure rate").series == [1.0, 0.0]
    assert overview.kpi("refund failure rate").value == 0.5
    assert overview.worst_rules[0].rule == "capture-to-reserve"
    assert [g.group for g in overview.top_groups] == [None]
    # store 0001 was last heard from at 20 min: 100 min before `at`, past quiet_after (30 min)
    assert overview.quiet_stores == 1
