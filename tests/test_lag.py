"""Inventory lag against a small estate whose expected values are worked out by hand below."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queries import Store, lag
from queries.lag import LagBy
from queries.policy import load
from tests.estate import add_events, event, minutes

POLICY = load()  # stale_after 15m, quiet_after 30m, systems erp + ecommerce


def movement(mid: str, store: str, at_minute: float, recorded: float | None = None) -> dict:
    return event(None, "inventory.movement", minutes(at_minute), system="pos", channel="pos",
                 movement_id=mid, store_id=store, sku=f"SKU-{mid}",
                 recorded=minutes(recorded if recorded is not None else at_minute))


def applied(mid: str, system: str, at_minute: float) -> dict:
    return event(None, "inventory.applied", minutes(at_minute), system=system,
                 movement_id=mid, applied_system=system)


@pytest.fixture
def estate(store: Store) -> Store:
    add_events(store, [
        movement("M1", "0001", 0), applied("M1", "erp", 2), applied("M1", "ecommerce", 5),
        movement("M2", "0001", 10), applied("M2", "erp", 14),        # storefront never applies it
        movement("M3", "0001", 50),                                  # 10 min old: not stale yet
        # store 0002 goes offline after one sale and syncs it 39 minutes late
        movement("M4", "0002", 1, recorded=40), applied("M4", "ecommerce", 41), applied("M4", "erp", 45),
    ])
    return store


def _rows(report: lag.LagReport) -> dict[tuple[str | None, str], tuple]:
    return {(r.key, r.system): (r.movements, r.open, r.p50_seconds, r.max_seconds) for r in report.rows}


def test_lag_by_store_and_system(estate: Store) -> None:
    with estate.reading() as cursor:
        report = lag.report(cursor, POLICY, minutes(60), LagBy.STORE)
    assert _rows(report) == {
        ("0001", "erp"): (3, 0, 180, 240),
        ("0001", "ecommerce"): (3, 1, 300, 300),
        ("0002", "erp"): (1, 0, 2640, 2640),
        ("0002", "ecommerce"): (1, 0, 2400, 2400),
    }
    oldest = {(r.key, r.system): r.oldest_open_seconds for r in report.rows}
    assert oldest[("0001", "ecommerce")] == 50 * 60
    assert [(q.store_id, q.quiet_seconds) for q in report.quiet_stores] == [("0002", 59 * 60)]


def test_lag_by_system(estate: Store) -> None:
    with estate.reading() as cursor:
        report = lag.report(cursor, POLICY, minutes(60), LagBy.SYSTEM)
    assert _rows(report) == {("erp", "erp"): (4, 0, 240, 2640), ("ecommerce", "ecommerce"): (4, 1, 1350, 2400)}


def test_as_of_an_earlier_instant_late_syncs_are_not_known_yet(estate: Store) -> None:
    with estate.reading() as cursor:
        report = lag.report(cursor, POLICY, minutes(30), LagBy.STORE)
    assert _rows(report) == {("0001", "erp"): (2, 0, 180, 240), ("0001", "ecommerce"): (2, 1, 300, 300)}


def test_since_counts_back_from_the_instant(estate: Store) -> None:
    with estate.reading() as cursor:
        report = lag.report(cursor, POLICY, minutes(60), LagBy.SKU, since=timedelta(minutes=15))
    assert _rows(report) == {("SKU-M3", "erp"): (1, 0, None, None), ("SKU-M3", "ecommerce"): (1, 0, None, None)}
