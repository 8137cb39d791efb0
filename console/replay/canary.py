"""The canary: after the first N sends, wait for the orders' next state or the next dead letter."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from console.replay.verdicts import Verdict
from queries import replays

POLL_SECONDS = 0.25


async def watch(run: Any) -> str | None:
    """None to go on (an order moved forward); otherwise why the run stops."""
    request = run.plan.request
    sent = [r for r in run.records if r.outcome == "acknowledged"]
    if not sent:
        return "canary: none of the first messages was confirmed"
    expected = _expected(run, {r.dlq_id for r in sent})
    start_depth = run.source.depth - run.source.received if hasattr(run.source, "received") else None
    deadline = time.monotonic() + request.canary_wait
    while True:
        moved, died = _store_probe(run, expected, {r.dlq_id for r in sent})
        if died:
            return f"canary: {died} died again; stopped before the rest"
        if moved:
            return None
        depth = await run.source.current_depth()
        if depth is not None and start_depth is not None and depth > start_depth:
            return f"canary: the dead-letter queue grew from {start_depth} to {depth}; stopped"
        if time.monotonic() >= deadline:
            return (f"canary: no order moved forward and nothing died again within "
                    f"{request.canary_wait:g} s; stopped (inconclusive)")
        await asyncio.sleep(POLL_SECONDS)


def _expected(run: Any, ids: set[str]) -> dict[str, str]:
    """order id -> the state the canary's messages should bring it to."""
    found: dict[str, str] = {}
    for verdict in run.summary.verdicts:
        assert isinstance(verdict, Verdict)
        if verdict.id in ids and verdict.order_id and verdict.state:
            found[verdict.order_id] = verdict.state
    return found


def _store_probe(run: Any, expected: dict[str, str], ids: set[str]) -> tuple[bool, str | None]:
    """(an expected state was reached, a canary message that died again) as the store sees them."""
    rows = {run.rows[i].message_id: i for i in ids if run.rows[i].message_id}
    store = run.plan.store
    with store.reading() as cursor:
        reached = replays.order_states(cursor, sorted(expected))
        again = replays.died_again(cursor, sorted(rows), sorted(run.plan.rows))
    if again:
        return False, f"message {again}"
    return any(state in reached.get(order, []) for order, state in expected.items()), None
