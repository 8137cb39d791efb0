"""One order's journey: states, business events, the spans of every trace it touched, dead letters, SLA."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import duckdb

from queries import sla
from queries.policy import CANONICAL_STATES, Policy
from queries.sqlfiles import sql

SPAN_LIMIT = 2000
WINDOW_SCANS = 64  # beyond this many trace windows, one scan of every trace id costs less
EXACT_KEYS = 5  # order id, name, trace id, message id, email: what `order KEY` accepts
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")


@dataclass(slots=True)
class StateReached:
    state: str
    at: datetime
    source: str | None
    times: int
    recorded_at: datetime | None


@dataclass(slots=True)
class JourneyEvent:
    event_id: str
    type: str
    state: str | None
    system: str | None
    source: str
    channel: str | None
    occurred_at: datetime | None
    recorded_at: datetime | None
    recorded_before_occurred: bool
    store_id: str | None
    sku: str | None
    quantity: int | None
    amount: float | None
    currency: str | None
    movement_id: str | None
    trace_id: str | None
    traceparent_valid: bool | None


@dataclass(slots=True)
class JourneySpan:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    service: str | None
    name: str | None
    kind: int | None
    start_time: datetime | None
    end_time: datetime | None
    duration_ms: float | None
    status_code: int | None
    status_message: str | None
    message_id: str | None


@dataclass(slots=True)
class JourneyDeadLetter:
    id: str
    queue: str
    reason: str | None
    count: int | None
    status: str
    group: str | None
    error_text: str | None
    message_id: str | None
    first_death_at: datetime | None
    last_death_at: datetime | None
    trace_id: str | None = None


@dataclass(slots=True)
class Journey:
    """Everything backroom knows about one order, as of `at`.

    Dataclasses, not pydantic models: `order KEY` builds one per run, and pydantic's import would
    cost it more than its queries (queries/policy.py). `--json` writes it with orjson.
    """

    order_id: str
    order_name: str | None
    channel: str | None
    customer_email: str | None
    store_id: str | None
    state: str | None
    state_at: datetime | None
    age_seconds: float | None
    at: datetime
    states: list[StateReached]
    events: list[JourneyEvent]
    trace_ids: list[str]
    spans: list[JourneySpan]
    spans_truncated: bool
    dlq: list[JourneyDeadLetter]
    sla: list[sla.SlaEvaluation]
    other_orders: list[str]


_SPAN_FIELDS = tuple(field.name for field in fields(JourneySpan))  # the span rows carry ingest_id too


def resolve(cursor: duckdb.DuckDBPyConnection, key: str) -> list[str]:
    """Order ids the key names, best match first (an email can name several orders)."""
    params = key_params(key, max_how=EXACT_KEYS)
    # an order id or name is answered from `orders` alone; only other keys scan events and spans
    for first_try, binds in (("order_by_id", {"key": params["key"]}),
                             ("order_resolve_direct", {"order_name": params["order_name"]})):
        direct = cursor.execute(sql(first_try), binds).fetchall()
        if direct:
            return [row[0] for row in direct]
    return [row[0] for row in cursor.execute(sql("order_resolve"), params).fetchall()]


def key_params(key: str, max_how: int) -> dict[str, Any]:
    """Bind a user's key for the search_hits CTE: the forms it could take, and how far to look."""
    key = key.strip()
    name = key if key.startswith("#") else f"#{key}"
    trace_id = key.lower() if _TRACE_ID.match(key) else None
    return {"key": key, "order_name": name, "trace_id": trace_id, "max_how": max_how}


def _rows(cursor: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor.execute(sql(name), params)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def find(cursor: duckdb.DuckDBPyConnection, policy: Policy, key: str, at: datetime) -> Journey | None:
    """The journey a user's key names (None: none): an exact order id straight from its rollup
    row, which saves `order KEY` a query; any other key resolved first."""
    header = _rows(cursor, "order_header", {"order_id": key.strip()})
    if header:
        return _journey(cursor, policy, header[0], at, [])
    found = resolve(cursor, key)
    return load(cursor, policy, found[0], at, other_orders=found) if found else None


def load(
    cursor: duckdb.DuckDBPyConnection, policy: Policy, order_id: str, at: datetime,
    other_orders: list[str] | None = None,
) -> Journey | None:
    """The journey of one order id, or None when the store has no such order."""
    header = (_rows(cursor, "order_header", {"order_id": order_id})
              or _rows(cursor, "order_unrolled", {"order_id": order_id}))
    return _journey(cursor, policy, header[0], at, other_orders or []) if header else None


def _journey(cursor: duckdb.DuckDBPyConnection, policy: Policy, order: dict[str, Any], at: datetime,
             other_orders: list[str]) -> Journey:
    order_id = order["order_id"]
    states = _rows(cursor, "order_states",
                   {"order_id": order_id, "ranked_states": list(CANONICAL_STATES)})
    events = _rows(cursor, "order_events", {"order_id": order_id})
    dlq = _rows(cursor, "order_dlq", {"order_id": order_id})
    spans, trace_ids = _stitched_spans(cursor, order_id, events + dlq)
    state_at = order["state_at"]
    return Journey(
        **{k: order[k] for k in ("order_id", "order_name", "channel", "customer_email", "store_id",
                                 "state", "state_at")},
        age_seconds=(at - state_at).total_seconds() if state_at else None,
        at=at,
        states=[StateReached(**row) for row in states],
        events=[JourneyEvent(**row) for row in events],
        trace_ids=trace_ids,
        spans=[JourneySpan(**{name: row[name] for name in _SPAN_FIELDS}) for row in spans[:SPAN_LIMIT]],
        spans_truncated=len(spans) > SPAN_LIMIT,
        dlq=[JourneyDeadLetter(**row) for row in dlq],
        sla=sla.evaluate_order(policy, order, states, at),
        other_orders=[other for other in other_orders if other != order_id],
    )


def _stitched_spans(
    cursor: duckdb.DuckDBPyConnection, order_id: str, named_by: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every span of every trace the order touched (asynchronous hops included), in time order,
    and those traces: the ones its events, dead letters and own spans name.

    Trace ids are random, so their spans are found through the windows the writer noted for each
    trace and batch (trace_windows): one narrow scan a window, pruned by the zone maps of the
    batch's ingest id and of the start time.
    """
    found = {(row["trace_id"], row["span_id"]): row
             for row in _rows(cursor, "order_spans_named", {"order_id": order_id})}
    trace_ids = sorted({row["trace_id"] for row in [*named_by, *found.values()] if row["trace_id"]})
    windows = cursor.execute(sql("trace_windows_of"), {"trace_ids": trace_ids}).fetchall()
    if len(windows) > WINDOW_SCANS:
        rows = _rows(cursor, "trace_spans_any", {"trace_ids": trace_ids})
        found.update(((row["trace_id"], row["span_id"]), row) for row in rows)
        windows = []
    held = Counter((row["trace_id"], row["ingest_id"]) for row in found.values())
    for trace_id, ingest_id, first_start, last_start, untimed, spans in windows:
        if held[(trace_id, ingest_id)] >= spans:
            continue  # every span of this trace and batch names the order: found already
        if first_start is not None:
            window = {"trace_id": trace_id, "first_start": first_start, "last_start": last_start}
            rows = (_rows(cursor, "trace_spans_in_window", window) if ingest_id is None else
                    _rows(cursor, "trace_spans_in_batch", window | {"ingest_id": ingest_id}))
            found.update(((row["trace_id"], row["span_id"]), row) for row in rows)
        if untimed:
            rows = _rows(cursor, "trace_spans_untimed", {"trace_id": trace_id})
            found.update(((row["trace_id"], row["span_id"]), row) for row in rows)
    # as ORDER BY start_time, trace_id, span_id would: spans with no start time last
    spans = sorted(found.values(), key=lambda row: (row["start_time"] is None, row["start_time"] or 0,
                                                    row["trace_id"], row["span_id"]))
    return spans, trace_ids
