"""Kafka Connect dead letters as `kcat -C -J` writes them (FORMATS.md 5.1) into `dlq_messages`."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from collectors.rabbitmq_dump import INT32_MAX, DeadLetterParser, body_json, dead_letter_id
from collectors.rows import (
    RECORD_ERRORS,
    BadRecord,
    DlqRow,
    Where,
    reason_of,
    text,
)
from collectors.text import fingerprint, parse_traceparent
from queries.ingest import Reject

BROKER = "kafka"
ERRORS_PREFIX = "__connect.errors."
# Headers that commonly carry a message id when the policy's paths find none.
MESSAGE_ID_HEADERS = ("message_id", "message-id", "messageid", "id")
CONTENT_TYPE_HEADERS = ("content-type", "content_type", "contenttype")
_RECORD_METADATA = ("topic", "partition", "offset", "tstype", "ts", "broker", "key")
_MAX_MS = 253_402_300_799_999  # TIMESTAMPTZ stops at the year 9999
_NO_HISTORY = ("exception.stacktrace",)  # long; it stays in the headers column

Pairs = list[tuple[str, Any]]


def header_pairs(raw: Any) -> Pairs:
    """The headers in order as (name, value), from kcat's flat `["k1","v1",...]` array.

    Also read, leniently: an array of `[name, value]` pairs or `{"key","value"}` objects, and
    an object of names to a value or a list of values.
    """
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [(str(name), item) for name, values in raw.items()
                for item in (values if isinstance(values, list) else [values])]
    if not isinstance(raw, list):
        raise BadRecord("headers is not an array")
    if raw and all(isinstance(item, list) and len(item) == 2 for item in raw):
        return [(_header_name(name), value) for name, value in raw]
    if raw and all(isinstance(item, dict) and "key" in item for item in raw):
        return [(_header_name(item["key"]), item.get("value")) for item in raw]
    if len(raw) % 2:
        raise BadRecord(f"headers has an odd number of items ({len(raw)}): not name/value pairs")
    return [(_header_name(name), value) for name, value in zip(raw[0::2], raw[1::2], strict=True)]


def _header_name(name: Any) -> str:
    if not isinstance(name, str):
        raise BadRecord("a header name is not a string")
    return name


def multimap(pairs: Pairs) -> dict[str, list[Any]]:
    """Every header name with all its values, in the order they came."""
    names: dict[str, list[Any]] = {}
    for name, value in pairs:
        names.setdefault(name, []).append(value)
    return names


def latest_values(pairs: Pairs) -> dict[str, Any]:
    """Each header name with its last non-null value (headers appended later are newer)."""
    latest: dict[str, Any] = {}
    for name, value in pairs:
        if value is not None or name not in latest:
            latest[name] = value
    return latest


def error_groups(pairs: Pairs) -> list[dict[str, Any]]:
    """The `__connect.errors.*` headers split into one group per failure, oldest first.

    A record that failed again carries the whole set again: a field already in the current
    group starts the next one.
    """
    groups: list[dict[str, Any]] = []
    for name, value in pairs:
        if not name.startswith(ERRORS_PREFIX):
            continue
        field = name[len(ERRORS_PREFIX):]
        if not groups or field in groups[-1]:
            groups.append({})
        groups[-1][field] = value
    return groups


def _first_named(headers: dict[str, Any], names: tuple[str, ...]) -> str | None:
    lowered = {name.lower(): value for name, value in headers.items()}
    return next((found for name in names if (found := text(lowered.get(name))) is not None), None)


def _body(record: dict[str, Any]) -> bytes:
    payload = record.get("payload")
    if payload is None:
        return b""  # a tombstone (null value) can fail a sink too
    if not isinstance(payload, str):
        raise BadRecord("payload is not a string")
    try:
        return payload.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRecord("payload is not valid UTF-8 text") from None


def _offset(value: Any) -> int | None:
    """A partition or offset: a non-negative integer (or decimal text), else None."""
    if isinstance(value, str) and value.strip().isdecimal() and len(value) <= 20:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def _micros_from_millis(value: Any) -> int | None:
    """kcat's `ts` (epoch ms) as microseconds; -1 (no timestamp), junk and overflow -> None."""
    if isinstance(value, str) and value.strip().isdecimal() and len(value) <= 20:
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_MS:
        return value * 1000
    return None


def _records(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value  # lenient: an array of records on one line
    if isinstance(value, dict):
        return [value]
    raise BadRecord("not a kcat JSON record (an object with topic, headers and payload)")


class KafkaDlqParser(DeadLetterParser):
    """Turns kcat JSON records of a Kafka Connect dead-letter topic into dead-letter rows."""


    def feed(self, value: Any, where: Where) -> list[Reject]:
        try:
            records = _records(value)
        except BadRecord as exc:
            return [self.reject(where, str(exc))]
        rejects = []
        for number, record in enumerate(records, 1):
            try:
                self.buffer.rows.append(self._row(record))
            except RECORD_ERRORS as exc:
                place = f"record {number}: " if records is value else ""  # in an array line
                rejects.append(self.reject(where, place + reason_of(exc), record))
        return rejects

    def _row(self, record: Any) -> DlqRow:
        if not isinstance(record, dict):
            raise BadRecord("not a kcat JSON record (an object)")
        topic = text(record.get("topic"))
        if topic is None:
            raise BadRecord("missing topic")
        body = _body(record)
        pairs = header_pairs(record.get("headers"))
        latest, groups = latest_values(pairs), error_groups(pairs)
        last = groups[-1] if groups else {}
        properties = {key: record[key] for key in _RECORD_METADATA if key in record}
        sources = {"properties": properties, "headers": latest, "body": body_json(body)}
        body_sha256 = hashlib.sha256(body).hexdigest()
        message_id = self.message_of(sources) or _first_named(
            latest, MESSAGE_ID_HEADERS) or f"sha256:{body_sha256}"
        died_at = _micros_from_millis(record.get("ts"))
        original_topic = text(last.get("topic"))
        reason = text(last.get("stage")) or text(last.get("exception.class.name"))
        error = text(last.get("exception.message")) or text(last.get("exception.class.name"))
        trace = parse_traceparent(latest.get("traceparent"))
        return DlqRow(
            id=dead_letter_id(BROKER, None, topic, self._identity(record, message_id),
                              body_sha256, died_at),
            broker=BROKER, queue=topic, vhost=None, original_exchange=None,
            original_routing_key=None, original_queue=original_topic, reason=reason,
            death_count=min(max(1, len(groups)), INT32_MAX),
            first_death_at=died_at, last_death_at=died_at, message_id=message_id,
            content_type=_first_named(latest, CONTENT_TYPE_HEADERS),
            properties=orjson.dumps(properties), headers=orjson.dumps(multimap(pairs)),
            body=body, body_sha256=body_sha256, error_text=error,
            order_id=self.order_of(sources),
            trace_id=trace[0] if trace else None,
            fingerprint=fingerprint(reason, original_topic, error), status="dead",
            history=orjson.dumps([_history_entry(group) for group in groups]),
            seen_at=self.seen_at,
        )

    @staticmethod
    def _identity(record: dict[str, Any], message_id: str) -> str:
        """What names this record in its topic: partition and offset, else the message id."""
        partition, offset = _offset(record.get("partition")), _offset(record.get("offset"))
        if partition is None or offset is None:
            return message_id
        return f"partition={partition},offset={offset}"


def _history_entry(group: dict[str, Any]) -> dict[str, Any]:
    return {field: value for field, value in group.items() if field not in _NO_HISTORY}
