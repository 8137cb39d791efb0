"""Inventory lag: how far each downstream system is behind the stores' stock movements."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from queries.policy import Policy
from queries.sqlfiles import sql

ROW_LIMIT = 10_000


class LagBy(enum.StrEnum):
    STORE = "store"
    SYSTEM = "system"
    SKU = "sku"


@dataclass(slots=True)
class LagRow:
    """Lag of one store, SKU or system towards one downstream system."""

    key: str | None
    system: str
    movements: int
    open: int
    p50_seconds: float | None
    p95_seconds: float | None
    max_seconds: float | None
    oldest_open_seconds: float | None


@dataclass(slots=True)
class QuietStore:
    store_id: str
    last_event_at: datetime
    quiet_seconds: float


@dataclass(slots=True)
class LagReport:
    at: datetime
    by: LagBy
    from_ts: datetime | None
    rows: list[LagRow] = field(default_factory=list)
    quiet_stores: list[QuietStore] = field(default_factory=list)


def report(
    cursor: duckdb.DuckDBPyConnection, policy: Policy, at: datetime, by: LagBy = LagBy.STORE, *,
    since: timedelta | None = None, store_id: str | None = None,
) -> LagReport:
    """Lag percentiles and open movements per key and system, and the stores gone quiet."""
    from_ts = at - since if since is not None else None
    cursor.execute(sql("lag"), {
        "at": at, "by": LagBy(by).value, "systems": policy.inventory.systems, "from_ts": from_ts,
        "store_id": store_id, "stale_seconds": policy.inventory.stale_after.total_seconds(),
        "limit": ROW_LIMIT})
    names = [column[0] for column in cursor.description]
    rows = [LagRow(**dict(zip(names, row))) for row in cursor.fetchall()]
    return LagReport(at=at, by=LagBy(by), from_ts=from_ts, rows=rows,
                     quiet_stores=quiet_stores(cursor, policy, at))


def quiet_stores(cursor: duckdb.DuckDBPyConnection, policy: Policy, at: datetime) -> list[QuietStore]:
    """Stores that reported before but have been silent longer than the policy's quiet_after."""
    cursor.execute(sql("quiet_stores"),
                   {"at": at, "quiet_seconds": policy.inventory.quiet_after.total_seconds()})
    return [QuietStore(store_id=r[0], last_event_at=r[1], quiet_seconds=r[2]) for r in cursor.fetchall()]
