"""End to end through `sandbox:`: the demo's ERP-outage group replayed moves orders forward."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console import demo
from console.replay.engine import execute
from console.replay.plan import Request
from queries import Store, sla
from queries.policy import load

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.build(tmp_path_factory.mktemp("demo") / "demo.duckdb", orders=600, seed=7, now=NOW).db


def _timeout_group(store: Store) -> str:
    with store.reading() as cursor:
        return cursor.execute(
            "SELECT fingerprint FROM dlq_messages WHERE error_text LIKE 'Timeout after%' "
            "AND original_queue = 'erp.orders' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchone()[0]


def test_the_outage_group_moves_orders_forward_and_the_sla_report_changes(demo_db: Path) -> None:
    store, policy = Store.at(demo_db), load()
    group = _timeout_group(store)
    later = NOW + timedelta(hours=1)
    with store.reading() as cursor:
        before = {r.rule: r for r in sla.report(cursor, policy, later).rules}
    dry = _run(store, Request(group=group, runtime_url="sandbox:", dry_run=True))
    assert dry.verdicts and dry.moved == []
    summary = _run(store, Request(group=group, runtime_url=f"sandbox:?at={(NOW + timedelta(minutes=5)).isoformat()}",
                                  rate=0))
    safe = [v for v in dry.verdicts if v.verdict == "safe"]
    assert len(summary.moved) == len(safe) > 0 and summary.failed == []
    orders = sorted({v.order_id for v in safe if v.order_id})
    with store.reading() as cursor:
        reached = cursor.execute(
            "SELECT count(DISTINCT order_id) FROM order_states WHERE state = 'inventory_reserved' "
            "AND list_contains($ids, order_id)", {"ids": orders}).fetchone()[0]
        after = {r.rule: r for r in sla.report(cursor, policy, later).rules}
        statuses = cursor.execute("SELECT DISTINCT status FROM dlq_messages WHERE list_contains($ids, id)",
                                  {"ids": summary.moved}).fetchall()
    assert reached == len(orders)
    rule = "capture-to-reserve"
    assert after[rule].open < before[rule].open
    assert after[rule].open + after[rule].breached + after[rule].met == \
        before[rule].open + before[rule].breached + before[rule].met
    assert statuses == [("replayed",)]
    again = _run(store, Request(group=None, keys=summary.moved[:1], runtime_url="sandbox:"))
    assert again.moved == [] and again.exit_code == 1 and "already replayed" in again.skipped[0]["cause"]


def test_the_poison_needs_force_and_dies_again(demo_db: Path) -> None:
    store = Store.at(demo_db)
    with store.reading() as cursor:
        poison, message_id = cursor.execute(
            "SELECT id, message_id FROM dlq_messages WHERE reason = 'delivery_limit' LIMIT 1").fetchone()
    refused = _run(store, Request(keys=[poison], runtime_url="sandbox:"))
    assert refused.moved == [] and "poison" in refused.skipped[0]["cause"]
    forced = _run(store, Request(keys=[poison], runtime_url="sandbox:", force=True, canary=1, canary_wait=0))
    assert forced.moved == [poison]
    assert forced.stopped and "died again" in forced.stopped
    with store.reading() as cursor:
        dead = cursor.execute("SELECT count(*) FROM dlq_messages WHERE message_id = $m AND status = 'dead'",
                              {"m": message_id}).fetchone()[0]
    assert dead == 1


def _run(store: Store, request: Request):  # type: ignore[no-untyped-def]
    return asyncio.run(execute(store, request, load()))


def test_progress_counts_batch_by_batch_up_to_the_total(demo_db: Path, tmp_path: Path) -> None:
    """The callback a face's progress bar follows: from 0, once per batch, ending at the total."""
    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, copy)
    store = Store.at(copy)
    with store.reading() as cursor:
        ids = [row[0] for row in cursor.execute(
            "SELECT id FROM dlq_messages WHERE status = 'dead' ORDER BY id LIMIT 10").fetchall()]
    steps: list[tuple[int, int]] = []
    summary = asyncio.run(execute(store, Request(keys=ids, runtime_url="sandbox:", rate=0, batch=3, force=True),
                                  load(), lambda settled, total: steps.append((settled, total))))
    assert len(summary.moved) + len(summary.failed) + len(summary.skipped) == 10
    assert steps[0] == (0, 10) and steps[-1] == (10, 10)
    assert [settled for settled, _ in steps] == sorted(settled for settled, _ in steps)
    assert len({settled for settled, _ in steps}) >= 4  # 3 + 3 + 3 + 1: one step per batch


def test_two_demo_stores_with_the_same_ids_each_replay_their_own_copies(tmp_path: Path) -> None:
    """The journal of store-held copies is per store: one store's replay never looks done in another."""
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    demo.build(first, orders=300, seed=7, now=NOW)
    shutil.copy(first, second)
    moved = []
    for db in (first, second):
        store = Store.at(db)
        summary = _run(store, Request(group=_timeout_group(store), runtime_url="sandbox:", rate=0, force=True))
        moved.append(sorted(summary.moved))
    assert moved[0] and moved[0] == moved[1]
