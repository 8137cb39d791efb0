"""The state-aware dry run: what state a message would produce, and whether sending it is safe.

A message maps to an event type, first match wins:
  1. its own type: the AMQP `type` property, a `ce-type`/`type` header, or a JSON body's `type`,
     when the policy's [states] knows it;
  2. its original routing key, when it is itself an event type of the policy;
  3. a command word in the routing key, else in the original queue's name
     (`order.reserve`/`erp.orders` -> inventory.reserved, `invoice.post` -> invoice.posted,
     `payment.capture` -> payment.authorized, `refund.issue` -> refund.issued, ...).
The event type maps to a state through the policy. Verdicts, checked in this order:
  conflict        the order took the other track (a forward step for an order being returned, a
                  refund for an order that never got paid);
  already_applied the order already reached that state, or a later one on the same track;
  superseded      a newer dead letter exists for the same order (and SKU) and destination;
  safe            otherwise (also when no state is known: then the reason says so).
Already applied, conflict and superseded are skipped unless --force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from queries.replays import ReplayRow

SAFE, APPLIED, SUPERSEDED, CONFLICT = "safe", "already_applied", "superseded", "conflict"
NEEDS_FORCE = frozenset({APPLIED, CONFLICT, SUPERSEDED})
FORWARD = {"captured": 0, "payment_authorized": 1, "inventory_reserved": 2,
           "fulfillment_released": 3, "shipped": 4, "picked_up": 4, "invoiced": 5, "settled": 6}
RETURNS = {"return_requested": 0, "return_received": 1, "refund_issued": 2, "refund_settled": 3}
# command words -> the event type a successful handling produces (order matters: first match)
COMMANDS = (
    ("refund", "refund.issued"), ("return", "return.requested"), ("invoice", "invoice.posted"),
    ("settle", "settlement.completed"), ("capture", "payment.authorized"),
    ("authoriz", "payment.authorized"), ("payment", "payment.authorized"),
    ("reserv", "inventory.reserved"), ("release", "fulfillment.released"),
    ("fulfil", "fulfillment.released"), ("pickup", "order.picked_up"), ("picked", "order.picked_up"),
    ("ship", "shipment.confirmed"), ("erp.orders", "inventory.reserved"),
)


@dataclass(frozen=True)
class Verdict:
    """One message's dry-run line: where it would go and whether that is safe."""

    id: str
    order_id: str | None
    target: str
    verdict: str
    event_type: str | None
    state: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _own_type(row: ReplayRow) -> str | None:
    candidates = [row.properties.get("type"), row.headers.get("ce-type"), row.headers.get("type")]
    if row.body[:1] == b"{" and len(row.body) < 1 << 20:
        try:
            body = orjson.loads(row.body)
            candidates.append(body.get("type") if isinstance(body, dict) else None)
        except orjson.JSONDecodeError:
            pass
    return next((c for c in candidates if isinstance(c, str) and c), None)


def event_type_of(row: ReplayRow, states: dict[str, str]) -> str | None:
    """The event type this message produces when handled, by the rules in the module docstring."""
    own = _own_type(row)
    if own in states:
        return own
    key = row.original_routing_key or ""
    if key in states:
        return key
    for text in (key.lower(), (row.original_queue or "").lower()):
        for word, event_type in COMMANDS:
            if word in text and event_type in states:
                return event_type
    return None


def _track(state: str) -> tuple[dict[str, int], int] | None:
    for track in (FORWARD, RETURNS):
        if state in track:
            return track, track[state]
    return None


def judge(row: ReplayRow, target: str, states: dict[str, str], reached: list[str] | None,
          newer: str | None) -> Verdict:
    """One message's verdict given the states its order reached and any newer dead letter."""
    event_type = event_type_of(row, states)
    state = states.get(event_type) if event_type else None

    def verdict(kind: str, reason: str) -> Verdict:
        return Verdict(row.id, row.order_id, target, kind, event_type, state, reason)

    if state is None:
        return verdict(SAFE, "no state known for this message: sent as it is")
    if reached is None:
        return verdict(SAFE, f"would produce {state}; order {row.order_id or '?'} not in the store")
    conflict = _conflict(state, reached)
    if conflict:
        return verdict(CONFLICT, conflict)
    track, rank = _track(state) or ({}, -1)
    later = [s for s in reached if s in track and track[s] >= rank]
    if later:
        return verdict(APPLIED, f"order already reached {later[-1]} (this produces {state})")
    if newer:
        return verdict(SUPERSEDED, f"newer dead letter {newer} for the same order and destination")
    return verdict(SAFE, f"would move the order to {state}")


def _conflict(state: str, reached: list[str]) -> str | None:
    if state in FORWARD and state != "settled" and any(s in RETURNS for s in reached):
        returned = next(s for s in reached if s in RETURNS)
        return f"order is on the returns track ({returned}); this would produce {state}"
    if state in RETURNS and state.startswith("refund") and "payment_authorized" not in reached \
            and "settled" not in reached:
        return f"a refund ({state}) for an order that never reached payment_authorized"
    return None


def counts(verdicts: list[Verdict]) -> dict[str, int]:
    totals = {SAFE: 0, APPLIED: 0, SUPERSEDED: 0, CONFLICT: 0}
    for item in verdicts:
        totals[item.verdict] += 1
    return totals
