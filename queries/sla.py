"""SLA evaluation: per order and rule (met, breached, open, pending) and the per-rule report."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from queries.policy import Policy
from queries.sqlfiles import sql

BREACH_STATUSES = ("breached", "open")


# Dataclasses, not pydantic models: built from our own typed SQL, and on `order KEY`'s path, where
# pydantic's import would cost more than the query (queries/policy.py).
@dataclass(slots=True)
class SlaEvaluation:
    """One order against one rule: `breached` reached the target too late, `open` is still not there."""

    order_id: str
    order_name: str | None
    channel: str | None
    store_id: str | None
    rule: str
    status: str
    from_at: datetime
    to_at: datetime | None
    elapsed_seconds: float
    within_seconds: float
    clock_skew: bool = False  # the target was reached 'before' the start: source clocks disagree
    slowest_hop: str | None = None
    slowest_hop_seconds: float | None = None


@dataclass(slots=True)
class RuleSummary:
    rule: str
    from_state: str
    to_state: str
    within_seconds: float
    orders: int
    met: int
    breached: int
    open: int
    pending: int
    p50_seconds: float | None
    p95_seconds: float | None


@dataclass(slots=True)
class SlaReport:
    at: datetime
    from_ts: datetime | None
    to_ts: datetime | None
    channel: str | None
    rules: list[RuleSummary] = field(default_factory=list)
    breaches: list[SlaEvaluation] = field(default_factory=list)

    @property
    def breach_count(self) -> int:
        return len(self.breaches)


def rule_params(policy: Policy) -> list[dict[str, Any]]:
    return [{"name": r.name, "from_state": r.from_state, "to_state": r.to_state,
             "within_s": r.within.total_seconds(), "channels": r.channels} for r in policy.sla]


def _params(policy: Policy, at: datetime, **filters: Any) -> dict[str, Any]:
    base = {"rules": rule_params(policy), "at": at, "channel": None, "store_id": None,
            "from_ts": None, "to_ts": None, "order_id": None}
    return {**base, **filters}


def evaluate(
    cursor: duckdb.DuckDBPyConnection, policy: Policy, at: datetime, *,
    statuses: tuple[str, ...] | None = None, rule: str | None = None, by_age: bool = False,
    limit: int | None = None, offset: int = 0, **filters: Any,
) -> list[SlaEvaluation]:
    """Evaluations in scope as of `at` (filters: channel, store_id, from_ts, to_ts, order_id).

    In report order (rule, status, longest first), or longest first across rules with `by_age`;
    `limit`/`offset` take one page of them (the console's), paged in SQL.
    """
    params = _params(policy, at, **filters)
    params |= {"statuses": list(statuses) if statuses else None, "rule": rule, "by_age": by_age,
               "limit": limit, "offset": offset}
    return _evaluations(cursor, sql("sla_evaluate"), params)


def _evaluations(cursor: duckdb.DuckDBPyConnection, text: str, params: dict[str, Any]) -> list[SlaEvaluation]:
    cursor.execute(text, params)
    names = [column[0] for column in cursor.description]
    # typed by our own SQL already: built without re-validation (110k breaches took 5 s validated)
    return [SlaEvaluation(**dict(zip(names, row))) for row in cursor.fetchall()]


def evaluate_order(policy: Policy, order: dict[str, Any], states: list[dict[str, Any]],
                   at: datetime) -> list[SlaEvaluation]:
    """One order against every rule, from the states its journey already read, judged as
    sla_judged.cte.sql and sla_evaluate.sql judge it (tests/test_sla.py asserts both agree on
    every order of the demo estate at several instants).

    In Python because planning that SQL costs 10 ms, a third of `order KEY` at 2.5M orders.
    `order` carries order_id, order_name, channel and store_id; each state row its `state`, its
    first time `at` and when it was first `recorded_at`.
    """
    known = {row["state"]: row["at"] for row in states
             if (row["recorded_at"] or row["at"]) <= at}  # recorded by `at`, as in sla_known
    found = []
    for rule in policy.sla:
        from_at = known.get(rule.from_state)
        if from_at is None or (rule.channels is not None and order["channel"] not in rule.channels):
            continue
        to_at = known.get(rule.to_state)
        within = rule.within.total_seconds()
        elapsed = _epoch(to_at or at) - _epoch(from_at)
        status = (("met" if elapsed <= within else "breached") if to_at is not None
                  else ("open" if elapsed > within else "pending"))
        hop, took = (_slowest_hop(known, from_at, to_at, at, status == "open")
                     if status in BREACH_STATUSES else (None, None))
        found.append(SlaEvaluation(
            order_id=order["order_id"], order_name=order["order_name"], channel=order["channel"],
            store_id=order["store_id"], rule=rule.name, status=status, from_at=from_at,
            to_at=to_at, elapsed_seconds=elapsed, within_seconds=within,
            clock_skew=to_at is not None and to_at < from_at, slowest_hop=hop,
            slowest_hop_seconds=took))
    # the report's order: rule, status, longest first
    return sorted(found, key=lambda e: (e.rule, e.status, -e.elapsed_seconds))


def _slowest_hop(known: dict[str, datetime], from_at: datetime, to_at: datetime | None,
                 at: datetime, still_open: bool) -> tuple[str | None, float | None]:
    """The state-to-state step that took longest between the rule's start and its end (or `at`)."""
    end = to_at or at
    points = sorted([(reached, state) for state, reached in known.items() if from_at <= reached <= end]
                    + ([(at, "(still waiting)")] if still_open else []))
    best: tuple[str | None, float | None] = (None, None)
    for (before, left), (after, right) in itertools.pairwise(points):
        took = _epoch(after) - _epoch(before)
        if best[1] is None or took > best[1]:
            best = (f"{left} -> {right}", took)
    return best


def _epoch(instant: datetime) -> float:
    """Seconds since 1970 as DuckDB's epoch() computes them (whole milliseconds, then the rest),
    so that elapsed times equal the SQL's to the last bit."""
    micros = (instant - _UNIX) // _MICROSECOND
    millis = int(micros / 1000)  # C++ division truncates toward zero
    return millis / 1e3 + (micros - millis * 1000) / 1e6


_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def report(
    cursor: duckdb.DuckDBPyConnection, policy: Policy, at: datetime, *,
    since: timedelta | None = None, from_ts: datetime | None = None, to_ts: datetime | None = None,
    channel: str | None = None,
) -> SlaReport:
    """Per rule: orders in scope, met, breached, open, pending, p50/p95; and every breach."""
    if since is not None and from_ts is None:
        from_ts = at - since
    filters = {"channel": channel, "from_ts": from_ts, "to_ts": to_ts}
    # judged once into a temporary table, then read twice: the counts and the breach list
    cursor.execute(sql("sla_judge_once"), _params(policy, at, **filters))
    try:
        kept = {"rules": rule_params(policy), "at": at, "order_id": None}
        counts = {row[0]: row for row in cursor.execute(
            sql("sla_summary", sla_judged="sla_judged_once"), kept).fetchall()}
        breaches = _evaluations(cursor, sql("sla_evaluate", sla_judged="sla_judged_once"), kept | {
            "statuses": list(BREACH_STATUSES), "rule": None, "by_age": False, "limit": None, "offset": 0})
    finally:
        cursor.execute("DROP TABLE IF EXISTS sla_judged_once")
    return SlaReport(at=at, from_ts=from_ts, to_ts=to_ts, channel=channel,
                     rules=[rule_summary(rule, counts.get(rule.name)) for rule in policy.sla],
                     breaches=breaches)


def summary(cursor: duckdb.DuckDBPyConnection, policy: Policy, at: datetime, **filters: Any) -> list[RuleSummary]:
    """Per rule counts and percentiles only (no breach list): what the overview needs."""
    counts = {row[0]: row for row in cursor.execute(
        sql("sla_summary"), _params(policy, at, **filters)).fetchall()}
    return [rule_summary(rule, counts.get(rule.name)) for rule in policy.sla]


def rule_summary(rule: Any, row: tuple[Any, ...] | None) -> RuleSummary:
    """One rule's counts from a row of sla_summary (zeros when no order was in scope)."""
    orders, met, breached, open_, pending, p50, p95 = row[1:] if row else (0, 0, 0, 0, 0, None, None)
    return RuleSummary(rule=rule.name, from_state=rule.from_state, to_state=rule.to_state,
                       within_seconds=rule.within.total_seconds(), orders=orders, met=met,
                       breached=breached, open=open_, pending=pending, p50_seconds=p50,
                       p95_seconds=p95)
