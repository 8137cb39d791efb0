"""Per batch, what happens to each dead letter taken: sent, acknowledged only (already delivered), or held."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.replay.journal import ACKED, CONFIRMED, IN_FLIGHT
from console.replay.message import REPLAY_ID, Prepared, Taken, prepare, replay_id
from console.replay.plan import Request, destination_for
from queries.replays import ReplayRow

if TYPE_CHECKING:
    from console.replay.engine import _Run


def classify(run: _Run, taken: list[Taken]) -> tuple[list[Prepared], list[Taken], list[Taken], list[Taken]]:
    """(to send, ack only, to hold, the takens behind the sends) for one batch."""
    request = run.plan.request
    sends: list[Prepared] = []
    send_taken: list[Taken] = []
    ack_only: list[Taken] = []
    hold: list[Taken] = []
    for item in taken:
        row = run.rows.get(item.dlq_id)
        if row is None or item.dlq_id in run.done or item.dlq_id in run.claimed:
            hold.append(item)  # not asked for, or a second copy of one already in hand
            continue
        entry = run.journal.state(item.dlq_id)
        died_again = entry is not None and item.headers.get(REPLAY_ID) == entry.replay_id
        if entry is not None and entry.state in (CONFIRMED, ACKED) and not request.force:
            if died_again:
                # our own replayed copy died again within the same second (same stable id): it is a
                # new dead letter, never a leftover to acknowledge
                run.done.add(item.dlq_id)
                run.summary.skipped.append({"id": item.dlq_id, "cause": (
                    "this is the replayed copy, dead again; collect it again or use --force")})
                hold.append(item)
                continue
            ack_only.append(item)
            continue
        refusal = _refuse(item, row, request)
        if refusal:
            run.done.add(item.dlq_id)
            run.summary.skipped.append({"id": item.dlq_id, "cause": refusal})
            hold.append(item)
            continue
        sends.append(_prepare(run, item, row, entry))
        send_taken.append(item)
        run.claimed.add(item.dlq_id)
    return sends, ack_only, hold, send_taken


def _refuse(item: Taken, row: ReplayRow, request: Request) -> str | None:
    if item.replay_count >= request.max_replays and not request.force:
        return (f"poison: already replayed {item.replay_count} times (max {request.max_replays}); "
                "use --force or --max-replays")
    if row.body_sha256 and item.body_sha256 != row.body_sha256 and not request.force:
        return "the live message's body differs from the stored copy (SHA-256); not sent"
    return None


def _prepare(run: _Run, item: Taken, row: ReplayRow, entry: Any) -> Prepared:
    request = run.plan.request
    generation = run.journal.generations.get(item.dlq_id, 0)
    if entry is not None and entry.state in IN_FLIGHT:
        rid = entry.replay_id  # the same key: the target may already have it
        run.summary.possibly_duplicated.append(item.dlq_id)
    else:
        if entry is not None and entry.state in (CONFIRMED, ACKED):
            generation += 1  # a forced re-send is a new replay with a new key
        rid = replay_id(item.dlq_id, item.replay_count + 1, generation)
    run.journal.generations[item.dlq_id] = generation
    item.order_id = item.order_id or row.order_id
    return prepare(item, destination_for(row, request), rid, run.who, body=request.body,
                   new_message_id=request.new_message_id)
