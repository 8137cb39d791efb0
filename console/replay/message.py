"""A dead letter taken for replay: its identity, where it came from, and the message sent in its place."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from collectors.correlation import correlate, split_paths
from collectors.deaths import read_deaths
from collectors.rabbitmq_dump import BROKER, body_json, dead_letter_id
from collectors.rows import micros
from collectors.text import parse_traceparent
from console.replay.runtime import Destination, Outbound
from queries.policy import Policy

REPLAY_COUNT = "backroom-replay-count"
REPLAY_ID = "backroom-replay-id"
REPLAYED_BY = "backroom-replayed-by"
REPLAY_SOURCE = "backroom-replay-source"
ORIGINAL_TRACEPARENT = "backroom-original-traceparent"
ORIGINAL_MESSAGE_ID = "backroom-original-message-id"
# Copied as they are (FORMATS.md 4.5); `expiration` would expire again and `user_id` is validated
# against the publishing connection's user, so both are dropped.
COPIED_PROPERTIES = ("content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
                     "reply_to", "message_id", "timestamp", "type", "app_id")
_BROKER_HEADERS = ("x-death", "x-delivery-count", "x-acquired-count")
_BROKER_PREFIXES = ("x-first-death-", "x-last-death-")


def is_broker_header(name: str) -> bool:
    """Headers the broker owns (G8): never re-published."""
    return name in _BROKER_HEADERS or name.startswith(_BROKER_PREFIXES)


@dataclass
class Taken:
    """One dead letter in hand: from the live queue (with its delivery) or from the store."""

    dlq_id: str
    derived_id: bool
    message_id: str | None
    body: bytes
    properties: dict[str, Any]
    headers: dict[str, Any]
    original: Destination
    queue: str
    order_id: str | None = None
    handle: Any = None
    prior_deaths: int = 0

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def replay_count(self) -> int:
        """Replays before this one: our own header, else deaths recorded by tools that kept x-death."""
        own = self.headers.get(REPLAY_COUNT)
        counted = int(own) if isinstance(own, (int, str)) and str(own).isdigit() else 0
        return max(counted, self.prior_deaths - 1, 0)


class Identity:
    """Computes a live message's stable dead-letter id exactly as ingest does (same function)."""

    def __init__(self, policy: Policy, vhost: str | None, queue: str) -> None:
        known = ("properties", "headers", "body")
        self.message_paths = split_paths(policy.correlation.message_id, known)
        self.order_paths = split_paths(policy.correlation.order_id, known)
        self.vhost, self.queue = vhost, queue

    def take(self, body: bytes, properties: dict[str, Any], headers: dict[str, Any],
             handle: Any = None) -> Taken:
        deaths = [entry for entry in headers.get("x-death") or [] if isinstance(entry, dict)]
        # The same readers as the collectors, so a message taken live gets the id it was stored under.
        history = read_deaths(headers)
        sources = {"properties": properties, "headers": headers, "body": body_json(body)}
        message_id = correlate(self.message_paths, sources)
        sha = hashlib.sha256(body).hexdigest()
        first = micros(history.first_time) if history.first_time is not None else None
        return Taken(
            dlq_id=dead_letter_id(BROKER, self.vhost, self.queue, message_id, sha, first,
                                  replay_id=_text(headers.get(REPLAY_ID))),
            derived_id=message_id is None, message_id=message_id, body=body,
            properties=properties, headers=headers, original=_original(deaths, headers),
            queue=self.queue, order_id=correlate(self.order_paths, sources), handle=handle,
            prior_deaths=history.total)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value) if value is not None else None


def _original(deaths: list[dict[str, Any]], headers: dict[str, Any]) -> Destination:
    """x-death[0] exchange + first routing key; first-death headers only as a fallback."""
    latest = deaths[0] if deaths else {}
    keys = latest.get("routing-keys") or []
    exchange = latest.get("exchange", headers.get("x-first-death-exchange", ""))
    key = keys[0] if keys else headers.get("x-first-death-queue", "")
    return Destination(exchange=str(exchange or ""), routing_key=str(key or ""))


def replay_id(dlq_id: str, attempt: int, generation: int = 0) -> str:
    """Stable per dead letter and attempt: a resumed send reuses it, a forced re-send does not."""
    key = f"{dlq_id}\x1f{attempt}\x1f{generation}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def child_traceparent(original: Any, rid: str) -> tuple[str, str, str]:
    """(traceparent, trace id, span id): a child of the original trace, span id from the replay id."""
    span_id = hashlib.sha256(f"span\x1f{rid}".encode()).hexdigest()[:16]
    parsed = parse_traceparent(original)
    flags = str(original).strip()[-2:] if parsed else "01"
    trace_id = parsed[0] if parsed else hashlib.sha256(f"trace\x1f{rid}".encode()).hexdigest()[:32]
    return f"00-{trace_id}-{span_id}-{flags}", trace_id, span_id


@dataclass
class Prepared:
    """The message sent in a dead letter's place, and the trace it carries."""

    outbound: Outbound
    trace_id: str
    span_id: str
    attempt: int = field(default=1)


def prepare(taken: Taken, destination: Destination, rid: str, operator: str,
            body: bytes | None = None, new_message_id: str | None = None) -> Prepared:
    """Original bytes, properties and message id; broker headers stripped; replay headers added."""
    headers = {k: v for k, v in taken.headers.items() if not is_broker_header(k)}
    properties = {k: taken.properties[k] for k in COPIED_PROPERTIES
                  if taken.properties.get(k) is not None}
    attempt = taken.replay_count + 1
    traceparent, trace_id, span_id = child_traceparent(taken.headers.get("traceparent"), rid)
    if "traceparent" in taken.headers:
        headers[ORIGINAL_TRACEPARENT] = taken.headers["traceparent"]
    headers.update({"traceparent": traceparent, REPLAY_COUNT: attempt, REPLAY_ID: rid,
                    REPLAYED_BY: operator, REPLAY_SOURCE: taken.queue})
    if new_message_id is not None:
        headers[ORIGINAL_MESSAGE_ID] = taken.message_id or taken.dlq_id
        properties["message_id"] = new_message_id
    outbound = Outbound(dlq_id=taken.dlq_id, replay_id=rid, body=taken.body if body is None else body,
                        properties=properties, headers=headers, destination=destination,
                        order_id=taken.order_id)
    return Prepared(outbound, trace_id, span_id, attempt)
