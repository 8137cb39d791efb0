"""`sandbox:` — the demo's simulated estate in process, a store-backed source, and the discard archive.

The sandbox takes every message (it confirms, as a broker would) and then plays its consumer:
a message whose cause is fixed produces its business event for the order (so the journey and the
SLA report move forward); one whose cause is not fixed dies again as a new dead letter. The poison
(a body that is not the JSON it claims to be) always dies again. `sandbox:?erp=down` keeps the
ERP outage going; `sandbox:?at=2026-03-01T12:00:00Z` fixes the simulated clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pyarrow as pa

from collectors.rabbitmq_dump import BROKER, dead_letter_id
from collectors.text import fingerprint
from console.replay.message import Taken
from console.replay.runtime import Destination, Outbound, Outcome, Sent
from console.replay.verdicts import event_type_of
from queries import Store, ingest, rollup
from queries.policy import Policy
from queries.replays import ReplayRow

_TS = pa.timestamp("us", tz="UTC")


class StoreSource:
    """Dead letters from the store (the sandbox, or ones drained off the broker): exact stored bytes."""

    def __init__(self, rows: list[ReplayRow]) -> None:
        self._rows = rows
        self._next = 0
        self.depth = len(rows)

    async def open(self, window: int) -> None:
        pass

    async def batch(self, size: int, wanted: set[str]) -> list[Taken]:
        chunk = [row for row in self._rows[self._next:self._next + size]]
        self._next += len(chunk)
        return [_taken(row) for row in chunk if row.id in wanted]

    async def ack(self, items: list[Taken], verify: bool = True) -> None:
        pass  # the engine marks confirmed rows in the store when the run ends

    async def acked(self) -> None:
        pass

    def hold(self, items: list[Taken]) -> None:
        pass

    async def current_depth(self) -> int | None:
        return None

    async def close(self) -> None:
        pass


def _taken(row: ReplayRow) -> Taken:
    return Taken(dlq_id=row.id, derived_id=row.message_id is None, message_id=row.message_id,
                 body=row.body, properties=dict(row.properties), headers=dict(row.headers),
                 original=Destination(row.original_exchange or "", row.original_routing_key or ""),
                 queue=row.queue, order_id=row.order_id, prior_deaths=row.death_count or 0)


class ArchiveRuntime:
    """Discard with removal: the store already holds the exact bytes, so the archive 'confirms'."""

    name = "archive"

    async def open(self) -> None:
        pass

    async def send(self, batch: Sequence[Outbound]) -> list[Sent]:
        return [Sent(Outcome.CONFIRMED)] * len(batch)

    async def close(self) -> None:
        pass


class SandboxRuntime:
    """The simulated estate: confirms, then handles each message as the estate's consumer would."""

    name = "sandbox"

    def __init__(self, store: Store, policy: Policy, url: str) -> None:
        query = parse_qs(urlsplit(url).query)
        self.store, self.policy = store, policy
        self.erp_down = query.get("erp", [""])[0] == "down"
        at = query.get("at", [None])[0]
        self._at = datetime.fromisoformat(at.replace("Z", "+00:00").replace(" ", "+")) if at else None

    def now(self) -> datetime:
        return self._at or datetime.now(UTC)

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def send(self, batch: Sequence[Outbound]) -> list[Sent]:
        events, deaths = [], []
        for item in batch:
            failure = self._failure(item)
            if failure:
                deaths.append(self._death(item, failure))
            else:
                events.extend(self._events(item))
        with self.store.writing() as cursor:
            ingest_id = ingest.start(cursor, "sandbox:", "sandbox")
            if events:
                ingest.insert_rows(cursor, ingest.Table.EVENTS, _table(events, ingest_id))
            if deaths:
                ingest.insert_rows(cursor, ingest.Table.DLQ_MESSAGES, _table(deaths, ingest_id))
            rollup.refresh_orders(cursor, ingest_id)
        return [Sent(Outcome.CONFIRMED)] * len(batch)

    def _failure(self, item: Outbound) -> tuple[str, str] | None:
        """Why the estate's consumer fails this message again, or None when it is handled."""
        try:
            body = orjson.loads(item.body)
        except orjson.JSONDecodeError:
            return ("org.springframework.amqp.support.converter.MessageConversionException",
                    "Failed to convert Message content: not JSON")
        lines = body.get("lines") if isinstance(body, dict) else None
        if isinstance(lines, list) and any(isinstance(x, dict) and "tax_code" not in x for x in lines):
            return ("org.springframework.amqp.AmqpRejectAndDontRequeueException",
                    "Schema validation failed: a line has no tax_code")
        if self.erp_down:
            return ("java.util.concurrent.TimeoutException", "Timeout after 30000 ms calling the ERP")
        return None

    def _events(self, item: Outbound) -> list[dict[str, Any]]:
        row = _row_for(item)
        event_type = event_type_of(row, self.policy.states)
        if event_type is None or not item.order_id:
            return []
        body = orjson.loads(item.body)
        trace = str(item.headers.get("traceparent", "")).split("-")
        now = self.now()
        return [{"event_id": f"replay-{item.replay_id}", "source": "/erp/sandbox", "type": event_type,
                 "state": self.policy.states.get(event_type), "system": "erp",
                 "channel": body.get("channel"), "order_id": item.order_id,
                 "order_name": body.get("order_name"), "store_id": body.get("store_id"),
                 "occurred_at": now, "recorded_at": now,
                 "trace_id": trace[1] if len(trace) == 4 else None,
                 "parent_span_id": trace[2] if len(trace) == 4 else None,
                 "traceparent": item.headers.get("traceparent"), "traceparent_valid": len(trace) == 4,
                 "payload": orjson.dumps({"replay_id": item.replay_id, "type": event_type}).decode()}]

    def _death(self, item: Outbound, failure: tuple[str, str]) -> dict[str, Any]:
        """The message dead-lettered again: a new dead letter (new first death), replay count kept."""
        now = self.now()
        queue = str(item.headers.get("backroom-replay-source", "sandbox.dlq"))
        sha = hashlib.sha256(item.body).hexdigest()
        micros = int(now.timestamp()) * 1_000_000
        message_id = item.properties.get("message_id")
        original_queue = item.destination.routing_key
        headers = {**item.headers, "x-exception-class": failure[0], "x-exception-message": failure[1],
                   "x-death": [{"count": 1, "exchange": item.destination.exchange, "queue": original_queue,
                                "reason": "rejected", "routing-keys": [item.destination.routing_key],
                                "time": int(now.timestamp())}]}
        return {"id": dead_letter_id(BROKER, None, queue, message_id, sha, micros), "broker": BROKER,
                "queue": queue, "original_exchange": item.destination.exchange,
                "original_routing_key": item.destination.routing_key, "original_queue": original_queue,
                "reason": "rejected", "death_count": 1, "first_death_at": now, "last_death_at": now,
                "message_id": message_id, "content_type": item.properties.get("content_type"),
                "properties": orjson.dumps(item.properties, default=str).decode(),
                "headers": orjson.dumps(headers, default=str).decode(), "body": item.body,
                "body_sha256": sha, "error_text": failure[1], "order_id": item.order_id,
                "trace_id": None, "fingerprint": fingerprint("rejected", original_queue, failure[1]),
                "status": "dead", "history": "[]", "seen_at": now}


def _row_for(item: Outbound) -> ReplayRow:
    return ReplayRow(id=item.dlq_id, broker=BROKER, vhost=None, queue="", message_id=None,
                     original_exchange=item.destination.exchange,
                     original_routing_key=item.destination.routing_key, original_queue=None,
                     order_id=item.order_id, content_type=None, properties=item.properties,
                     headers={k: v for k, v in item.headers.items() if k != "type"}, body=item.body,
                     body_sha256=None, status="dead", group=None, death_count=None,
                     first_death_at=None, last_death_at=None, trace_id=None)


def _table(rows: list[dict[str, Any]], ingest_id: int) -> pa.Table:
    columns = sorted({key for row in rows for key in row})
    arrays = {}
    for key in columns:
        values = [row.get(key) for row in rows]
        kind = _TS if key.endswith("_at") else pa.binary() if key == "body" else None
        arrays[key] = pa.array(values, kind)
    arrays["ingest_id"] = pa.array([ingest_id] * len(rows), pa.int64())
    return pa.table(arrays)
