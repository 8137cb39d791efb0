"""RabbitMQ management-API `/get` dumps (FORMATS.md 4.7) into `dlq_messages` rows."""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import PurePath
from typing import Any

import orjson

from collectors.correlation import CorrelatingParser
from collectors.deaths import read_deaths
from collectors.rows import RECORD_ERRORS, BadRecord, DlqRow, Where, micros, reason_of, text
from collectors.text import escape, fingerprint, parse_traceparent
from queries.ingest import Reject, Table
from queries.policy import Policy

BROKER = "rabbitmq"
DEFAULT_VHOST = "/"
# Where frameworks put the failure text: plain, NServiceBus, MassTransit, then generic names.
ERROR_HEADERS = (
    "x-exception-message", "nservicebus.exceptioninfo.message", "mt-fault-message", "x-error",
    "error",
)
_DUMP_SUFFIXES = (".gz", ".json", ".jsonl", ".ndjson", ".txt")
_BODY_JSON_LIMIT = 4 * 1024 * 1024  # look inside bodies up to this size for correlation keys
INT32_MAX = 2**31 - 1  # death_count is an INTEGER column


REPLAY_ID_HEADER = "backroom-replay-id"  # set by backroom's replay on every copy it sends


def dead_letter_id(
    broker: str,
    vhost: str | None,
    queue: str,
    message_id: str | None,
    body_sha256: str,
    first_death_at: int | None,
    replay_id: str | None = None,
) -> str:
    """The stable id of one dead letter, the same whichever dump or live peek it was read from.

    It is the first 24 hex digits of the SHA-256 of broker, vhost (`/` when unknown), the
    dead-letter queue it sits in, the message id (or `sha256:<body hash>` when the message has
    none) and its first death as whole epoch seconds (the earliest `x-death` time; empty when
    there is no `x-death`). Nothing about the file, its name or the time of reading enters it.
    A replayed message that dies again gets a new id: replay strips `x-death` (the broker stamps
    a new first death) and adds its `backroom-replay-id`, which enters the key too, because a
    copy can die again within the same second as the original.
    """
    identity = message_id or f"sha256:{body_sha256}"
    death = "" if first_death_at is None else str(first_death_at // 1_000_000)
    parts = (broker, vhost or DEFAULT_VHOST, queue, identity, death)
    key = "\x1f".join(parts + ((f"replay:{replay_id}",) if replay_id else ()))
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:24]


def queue_from_filename(path: str) -> str:
    """The queue a dump holds, from its file name: `erp.orders.dlq.json` -> `erp.orders.dlq`."""
    name = PurePath(path).name
    stripped = True
    while stripped:
        stripped = False
        for suffix in _DUMP_SUFFIXES:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name, stripped = name[: -len(suffix)], True
    return name


def _body(message: dict[str, Any]) -> bytes:
    payload = message.get("payload")
    if not isinstance(payload, str):
        raise BadRecord("missing payload" if payload is None else "payload is not a string")
    encoding = message.get("payload_encoding", "string")
    if encoding in ("string", None):
        return payload.encode("utf-8")
    if encoding == "base64":
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadRecord("payload is not valid base64") from None
    raise BadRecord(f"unknown payload_encoding {escape(str(encoding))[:20]!r}")


def body_json(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object when it is one (for correlation keys), else None."""
    if len(body) > _BODY_JSON_LIMIT or body.lstrip()[:1] != b"{":
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def error_text(headers: dict[str, Any], names: tuple[str, ...] = ERROR_HEADERS) -> str | None:
    """The first failure text among the header `names` (matched without regard to case)."""
    lowered = {key.lower(): value for key, value in headers.items() if isinstance(key, str)}
    for name in names:
        value = lowered.get(name)
        if value is not None and value != "":
            return value if isinstance(value, str) else orjson.dumps(value).decode()
    return None


def _raw_history(headers: dict[str, Any]) -> list[Any]:
    """The `x-death` array as the dump gave it (management JSON), for the history column."""
    raw = headers.get("x-death")
    return raw if isinstance(raw, list) else []


def _unwrap(value: Any) -> tuple[list[Any], str | None, str | None]:
    """(messages, queue, vhost) from an array, a `{queue, vhost, messages}` wrapper or a message."""
    if isinstance(value, list):
        return value, None, None
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return value["messages"], text(value.get("queue")), text(value.get("vhost"))
    if isinstance(value, dict) and "payload" in value:
        return [value], None, None
    raise BadRecord("not a management-API /get dump (a JSON array of messages)")


class DeadLetterParser(CorrelatingParser):
    """Base of the dead-letter formats: correlation over properties, headers and body; the queue."""

    table = Table.DLQ_MESSAGES
    known = ("properties", "headers", "body")

    def __init__(self, source: str, policy: Policy, seen_at: int) -> None:
        super().__init__(source, policy)
        self.queue_from_name = queue_from_filename(source)  # when the file does not say
        self.seen_at = seen_at


class DlqDumpParser(DeadLetterParser):
    """Turns management-API `/get` messages into dead-letter rows with an id and a fingerprint."""

    def feed(self, value: Any, where: Where) -> list[Reject]:
        try:
            messages, queue, vhost = _unwrap(value)
        except BadRecord as exc:
            return [self.reject(where, str(exc))]
        rejects = []
        for number, message in enumerate(messages, 1):
            try:
                row = self._row(message, queue or self.queue_from_name, vhost)
                self.buffer.rows.append(row)
            except RECORD_ERRORS as exc:
                reason = f"message {number}: {reason_of(exc)}"
                rejects.append(self.reject(where, reason, message))
        return rejects

    def _row(self, message: Any, queue: str, vhost: str | None) -> DlqRow:
        if not isinstance(message, dict):
            raise BadRecord("not a message object")
        body = _body(message)
        properties = message.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        headers = properties.get("headers")
        headers = headers if isinstance(headers, dict) else {}
        deaths = read_deaths(headers)
        sources = {"properties": properties, "headers": headers, "body": body_json(body)}
        message_id = self.message_of(sources)
        body_sha256 = hashlib.sha256(body).hexdigest()
        first, last = deaths.first_time, deaths.last_time
        first_death_at = micros(first) if first is not None else None
        original_queue, reason, error = deaths.queue, deaths.reason, error_text(headers)
        trace = parse_traceparent(headers.get("traceparent"))
        return DlqRow(
            id=dead_letter_id(BROKER, vhost, queue, message_id, body_sha256, first_death_at,
                              replay_id=text(headers.get(REPLAY_ID_HEADER))),
            broker=BROKER, queue=queue, vhost=vhost,
            original_exchange=deaths.exchange, original_routing_key=deaths.routing_key,
            original_queue=original_queue, reason=reason,
            death_count=min(deaths.total, INT32_MAX) if deaths.entries else None,
            first_death_at=first_death_at,
            last_death_at=micros(last) if last is not None else None,
            message_id=message_id, content_type=text(properties.get("content_type")),
            properties=orjson.dumps({k: v for k, v in properties.items() if k != "headers"}),
            headers=orjson.dumps(headers),
            body=body, body_sha256=body_sha256, error_text=error,
            order_id=self.order_of(sources),
            trace_id=trace[0] if trace else None,
            fingerprint=fingerprint(reason, original_queue, error),
            status="dead", history=orjson.dumps(_raw_history(headers)), seen_at=self.seen_at,
        )
