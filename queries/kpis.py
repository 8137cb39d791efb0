"""The overview's KPIs, each a number now and an hourly series for a sparkline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from queries import dlq, lag, sla
from queries.policy import CANONICAL_STATES, Policy
from queries.sqlfiles import sql

HOURS = 24


class Kpi(BaseModel):
    """A headline number and its hourly history (oldest first, `None` where nothing happened)."""

    name: str
    value: float | None
    unit: str  # orders, breaches, messages, seconds or ratio
    series: list[float | None]


class Overview(BaseModel):
    at: datetime
    hours: int
    kpis: list[Kpi]
    backlog_by_state: dict[str, int]
    worst_rules: list[sla.RuleSummary]
    top_groups: list[dlq.FailureGroup]
    rejects: int = 0  # input records quarantined in the window
    quiet_stores: int = 0  # stores silent for longer than the policy's quiet_after, as of `at`

    def kpi(self, name: str) -> Kpi:
        return next(k for k in self.kpis if k.name == name)


def _series(cursor: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return cursor.execute(sql(name), params).fetchall()


def overview(cursor: duckdb.DuckDBPyConnection, policy: Policy, at: datetime, hours: int = HOURS) -> Overview:
    """Every KPI of the overview screen as of `at`, over the last `hours` hours."""
    base = {"at": at, "hours": hours}
    backlog = [row[1] for row in _series(cursor, "kpi_backlog", base)]
    states = dict(cursor.execute(sql("kpi_backlog_states"),
                                 {"at": at, "ranked_states": list(CANONICAL_STATES)}).fetchall())
    rules_params = {**base, "rules": sla.rule_params(policy), "channel": None, "store_id": None,
                    "from_ts": None, "to_ts": None, "order_id": None}
    # the SLA is judged once for both the breaches sparkline and the worst rules
    cursor.execute(sql("sla_judge_once"), {k: v for k, v in rules_params.items() if k != "hours"})
    judged_params = {"at": at, "hours": hours, "rules": rules_params["rules"], "order_id": None}
    breaches = cursor.execute(sql("kpi_breaches", sla_judged="sla_judged_once"), judged_params).fetchall()
    arrived = [row[1] for row in _series(cursor, "kpi_dead_letters", base)]
    inventory_lag, sync = latency(cursor, at, hours)
    refunds = _series(cursor, "kpi_refunds", base)
    groups = dlq.groups(cursor, limit=5)
    dead_now = dlq.page(cursor, statuses=["dead"], limit=0).total
    quarantined = cursor.execute(sql("kpi_rejects"), base).fetchone()
    quiet = lag.quiet_stores(cursor, policy, at)
    kpis = [
        Kpi(name="order backlog", value=sum(states.values()), unit="orders", series=backlog),
        Kpi(name="open SLA breaches", value=breaches[-1][2] if breaches else 0, unit="breaches",
            series=[row[1] for row in breaches]),
        Kpi(name="dead letters", value=dead_now, unit="messages", series=arrived),
        inventory_lag,
        Kpi(name="refund failure rate", value=_rate(refunds), unit="ratio",
            series=[(r[2] / r[1]) if r[1] else None for r in refunds]),
        sync,
    ]
    counts = {row[0]: row for row in cursor.execute(
        sql("sla_summary", sla_judged="sla_judged_once"), {k: v for k, v in judged_params.items() if k != "hours"}
    ).fetchall()}
    cursor.execute("DROP TABLE IF EXISTS sla_judged_once")
    worst = sorted((sla.rule_summary(rule, counts.get(rule.name)) for rule in policy.sla),
                   key=lambda r: (-(r.open + r.breached), r.rule))
    return Overview(at=at, hours=hours, kpis=kpis, backlog_by_state=states, worst_rules=worst,
                    top_groups=groups, rejects=int(quarantined[0]) if quarantined else 0,
                    quiet_stores=len(quiet))


def latency(cursor: duckdb.DuckDBPyConnection, at: datetime, hours: int = HOURS) -> tuple[Kpi, Kpi]:
    """Inventory lag p95 (stock movement -> applied) and store sync latency p95 (POS event ->
    middleware), hourly: the Inventory screen's charts, without the rest of the overview."""
    rows = _series(cursor, "kpi_latency", {"at": at, "hours": hours})
    return (Kpi(name="inventory lag p95", value=_last(rows, 1), unit="seconds", series=[r[1] for r in rows]),
            Kpi(name="store sync latency p95", value=_last(rows, 2), unit="seconds", series=[r[2] for r in rows]))


def _last(rows: list[tuple[Any, ...]], column: int) -> float | None:
    """The latest hour that had a value."""
    values = [row[column] for row in rows if row[column] is not None]
    return values[-1] if values else None


def _rate(rows: list[tuple[Any, ...]]) -> float | None:
    issued = sum(row[1] for row in rows)
    return sum(row[2] for row in rows) / issued if issued else None
