"""CloudEvents 1.0 structured JSON (one event per line, or an array batch) into `events` rows."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlsplit

import orjson

from collectors.correlation import Correlation, split_paths
from collectors.rows import (
    RECORD_ERRORS,
    BadRecord,
    EventRow,
    Parser,
    Where,
    amount,
    int32,
    reason_of,
    text,
    time_from_rfc3339,
)
from collectors.text import escape, parse_traceparent
from queries.ingest import Reject, Table
from queries.policy import Policy

REQUIRED = ("specversion", "id", "source", "type")
# Text columns taken from `data` as they are (kind -> movement_kind, system -> applied_system).
_DATA_TEXT = (
    "order_name", "customer_email", "store_id", "sku", "currency", "movement_id", "kind", "system",
)
# The first path segment of `source` names the system (DESIGN.md "Business events").
SYSTEMS = {
    "pos": "pos", "shopify": "ecommerce", "storefront": "ecommerce", "ecommerce": "ecommerce",
    "erp": "erp", "wms": "wms", "payments": "payment", "payment": "payment",
    "middleware": "middleware",
}


def system_of(source: str) -> str | None:
    """pos, ecommerce, erp, wms, payment or middleware from a source like `/pos/store/0042`."""
    try:
        path = urlsplit(source).path if "://" in source else source
    except ValueError:  # e.g. an unclosed IPv6 host: a bad URL still names no system
        return None
    segment = path.strip("/").split("/", 1)[0].lower()
    return SYSTEMS.get(segment)


def _required(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if value is None or value == "":
        raise BadRecord(f"missing required attribute '{name}'")
    if isinstance(value, int) and not isinstance(value, bool) and name == "id":
        return str(value)  # lenient: a numeric id is still a usable identity
    if not isinstance(value, str):
        raise BadRecord(f"attribute '{name}' must be a string")
    if name == "specversion" and not (value.startswith("1.") or value == "0.3"):
        raise BadRecord(f"unsupported specversion {escape(value[:20])!r}")
    return value


def _context(event: dict[str, Any]) -> tuple[str, str, str]:
    """(id, source, type) of a valid event; raises BadRecord naming the first bad attribute."""
    event_id, source, event_type = event.get("id"), event.get("source"), event.get("type")
    # Fast path for the usual event; anything unusual gets the precise checks below.
    if (event.get("specversion") == "1.0" and type(event_id) is str and type(source) is str
            and type(event_type) is str and event_id and source and event_type):
        return event_id, source, event_type
    _, event_id, source, event_type = (_required(event, name) for name in REQUIRED)
    return event_id, source, event_type


def _data(event: dict[str, Any]) -> Any:
    """The event's data: `data` as it is, or `data_base64` decoded (and parsed when it is JSON)."""
    data = event.get("data")
    if data is not None:
        return data
    encoded = event.get("data_base64")
    if not isinstance(encoded, str):
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None  # the payload column keeps it as received
    content_type = event.get("datacontenttype")
    if content_type is None or (isinstance(content_type, str) and "json" in content_type.lower()):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    return None


def _trace(event: dict[str, Any]) -> tuple[str | None, str | None, str | None, bool | None]:
    """(trace id, parent span id, traceparent as received, valid?); malformed is kept, not fatal."""
    header = event.get("traceparent")
    if header is None:
        return None, None, None, None
    verbatim = header if isinstance(header, str) else orjson.dumps(header).decode()
    parsed = parse_traceparent(header)
    if parsed is None:
        return None, None, verbatim, False
    return parsed[0], parsed[1], verbatim, True


class EventsParser(Parser):
    """Turns CloudEvents into event rows: state from the policy, system from the source."""

    table = Table.EVENTS

    def __init__(self, source: str, policy: Policy) -> None:
        super().__init__(source)
        self.states = dict(policy.states)
        self.order_paths = split_paths(policy.correlation.order_id, ("data",), top_level=True)
        self.order_of = Correlation(self.order_paths)

    def feed(self, value: Any, where: Where) -> list[Reject]:
        if isinstance(value, list):
            return self._batch(value, where)
        try:
            self.buffer.rows.append(self._row(value, _raw_json(where.raw)))
        except RECORD_ERRORS as exc:
            return [self.reject(where, reason_of(exc), value)]
        return []

    def _batch(self, events: list[Any], where: Where) -> list[Reject]:
        rejects = []
        for number, event in enumerate(events, 1):
            try:
                self.buffer.rows.append(self._row(event, None))
            except RECORD_ERRORS as exc:
                reason = f"batch element {number}: {reason_of(exc)}"
                rejects.append(self.reject(where, reason, event))
        return rejects

    def _row(self, event: Any, payload: bytes | None) -> EventRow:
        if not isinstance(event, dict):
            raise BadRecord("not a CloudEvent (a JSON object)")
        event_id, source, event_type = _context(event)
        data = _data(event)
        fields = data if isinstance(data, dict) else {}
        order_name, email, store_id, sku, currency, movement_id, kind, system = [
            text(value) for value in map(fields.get, _DATA_TEXT)
        ]
        trace_id, parent_span_id, traceparent, valid = _trace(event)
        recorded_at = time_from_rfc3339(event.get("recordedtime"))
        return EventRow(
            event_id=event_id, source=source, type=event_type,
            state=self.states.get(event_type), system=system_of(source),
            channel=text(event.get("channel")),
            order_id=self.order_of({"": event, "data": fields}),
            order_name=order_name, customer_email=email, store_id=store_id, sku=sku,
            quantity=int32(fields.get("quantity")), amount=amount(fields.get("amount")),
            currency=currency, movement_id=movement_id, movement_kind=kind, applied_system=system,
            # `time` is optional in CloudEvents: without a readable one, when the middleware
            # recorded the event stands in (as OpenTelemetry takes a log's observed time).
            occurred_at=time_from_rfc3339(event.get("time")) or recorded_at,
            recorded_at=recorded_at,
            trace_id=trace_id, parent_span_id=parent_span_id,
            traceparent=traceparent, traceparent_valid=valid,
            payload=payload if payload is not None else orjson.dumps(event),
        )


def _raw_json(raw: bytes) -> bytes:
    """The record's own bytes (JSON the parser already validated) without surrounding blanks."""
    return raw.strip()
