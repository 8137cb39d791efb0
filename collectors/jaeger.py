"""Jaeger JSON traces (UI "Download JSON", query API `/api/traces`) into `spans` rows."""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

from collectors.correlation import CorrelatingParser
from collectors.otlp import normalise_id
from collectors.rows import RECORD_ERRORS, BadRecord, SpanRow, Where, iso_from_micros, reason_of
from collectors.text import escape
from queries.ingest import Reject, Table

# OpenTracing / OTLP-translator tag values -> OTLP SpanKind integers (FORMATS.md 2).
SPAN_KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}
# Tags the OTLP->Jaeger translators add for OTLP concepts; they become columns, not attributes.
TRANSLATED_TAGS = frozenset((
    "span.kind", "otel.status_code", "otel.status_description", "error", "otel.scope.name",
    "otel.scope.version", "otel.library.name", "otel.library.version", "w3c.tracestate",
))
_HEX = re.compile(r"[0-9a-fA-F]+")
_INT64 = (-(2**63), 2**64 - 1)  # int64, and uint64 rather than lose it
_MAX_US = 253_402_300_799_999_999  # TIMESTAMPTZ stops at the year 9999
_EVENT_NAME_FIELDS = ("event", "message")  # newer translators write `event`, older `message`


def jaeger_id(value: Any, size: int, field: str) -> str:
    """A Jaeger id as lower-case hex, left-padded to `size` bytes (64-bit trace ids widen)."""
    if isinstance(value, str):
        stripped = value.strip()
        if 0 < len(stripped) <= size * 2 and _HEX.fullmatch(stripped):
            value = stripped.zfill(size * 2)
    return normalise_id(value, size, field)  # also reads base64 ids, and refuses all-zero ones


def tag_value(tag: dict[str, Any]) -> Any:
    """A KeyValue's value as plain JSON, read by its declared type where the value allows."""
    kind, value = str(tag.get("type", "string")).lower(), tag.get("value")
    if kind == "bool" and isinstance(value, str):
        lowered = value.strip().lower()
        return {"true": True, "false": False}.get(lowered, value)
    if kind == "int64" and isinstance(value, str) and len(value) <= 21:
        try:
            integer = int(value)
        except ValueError:
            return value
        return integer if _INT64[0] <= integer <= _INT64[1] else value
    if kind == "float64" and isinstance(value, str):
        try:
            real = float(value)
        except ValueError:
            return value
        return real if math.isfinite(real) else value  # NaN and Infinity kept as text
    return value


def tags(key_values: Any) -> dict[str, Any]:
    """A list of Jaeger KeyValue as one `{"key": value}` object; later duplicates win."""
    flat: dict[str, Any] = {}
    if isinstance(key_values, list):
        for item in key_values:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                flat[item["key"]] = tag_value(item)
    return flat


def _micros(value: Any) -> int | None:
    """A Jaeger time or duration (microseconds, number or decimal string); junk -> None."""
    if isinstance(value, str):
        value = int(value) if value.strip().isdecimal() and len(value) <= 20 else None
    elif isinstance(value, float):
        value = int(value) if math.isfinite(value) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_US:
        return None
    return value


def _list(holder: dict[str, Any], key: str) -> list[Any]:
    found = holder.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise BadRecord(f"{key} is not a list")
    return found


def _parent_and_links(span: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """The parent span id (the CHILD_OF reference, else the first) and the other references."""
    references = [ref for ref in _list(span, "references") if isinstance(ref, dict)]
    parent = next((ref for ref in references if ref.get("refType") == "CHILD_OF"), None)
    if parent is None and references:
        parent = references[0]
    raw = parent.get("spanID") if parent is not None else span.get("parentSpanID")
    parent_id = None
    if not (raw is None or (isinstance(raw, str) and raw.strip("0 ") == "")):
        parent_id = jaeger_id(raw, 8, "parent spanID")
    links = [_link(ref) for ref in references if ref is not parent]
    return parent_id, links


def _link(reference: dict[str, Any]) -> dict[str, Any]:
    attributes = {}
    if reference.get("refType") == "FOLLOWS_FROM":
        attributes["opentracing.ref_type"] = "follows_from"  # as the Jaeger->OTLP translator does
    return {
        "trace_id": _link_id(reference.get("traceID"), 16, "traceID"),
        "span_id": _link_id(reference.get("spanID"), 8, "spanID"),
        "attributes": attributes,
    }


def _link_id(value: Any, size: int, field: str) -> Any:
    try:
        return jaeger_id(value, size, field)
    except BadRecord:
        return value  # a link to an unusable id is still worth showing as received


def _span_events(span: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    for log in _list(span, "logs"):
        if isinstance(log, dict):
            fields = tags(log.get("fields"))
            name = next((fields.pop(key) for key in _EVENT_NAME_FIELDS
                         if isinstance(fields.get(key), str)), None)
            events.append({"time": iso_from_micros(_micros(log.get("timestamp"))),
                           "name": name, "attributes": fields})
    return events


def _status(span_tags: dict[str, Any]) -> tuple[int, str | None]:
    """(status code, message) from `otel.status_code`, or `error=true` as OpenTracing marks it."""
    code = span_tags.get("otel.status_code")
    status = STATUS_CODES.get(code.strip().upper(), 0) if isinstance(code, str) else 0
    if span_tags.get("error") in (True, "true"):
        status = 2
    message = span_tags.get("otel.status_description")
    return status, message if isinstance(message, str) and message else None


def _kind(span_tags: dict[str, Any]) -> int:
    kind = span_tags.get("span.kind")
    return SPAN_KINDS.get(kind.strip().lower(), 0) if isinstance(kind, str) else 0


class _Process:
    """What the spans of one process share: the service name and the resource attributes."""

    def __init__(self, process: Any) -> None:
        process = process if isinstance(process, dict) else {}
        service = process.get("serviceName")
        self.service = service if isinstance(service, str) and service else None
        self.attributes = tags(process.get("tags"))
        if self.service is not None:
            self.attributes.setdefault("service.name", self.service)
        self.json = orjson.dumps(self.attributes)


def _traces(value: Any) -> list[Any]:
    """The traces of a `{"data": [...]}` envelope, a bare trace, or an array of traces."""
    if isinstance(value, list):
        return value
    if not isinstance(value, dict):
        raise BadRecord("not Jaeger JSON (an object with a data list of traces)")
    if "spans" in value and "data" not in value:
        return [value]
    data = value.get("data")
    if isinstance(data, list):
        return data
    errors = value.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0].get("msg") if isinstance(errors[0], dict) else errors[0]
        raise BadRecord(f"Jaeger query API error: {escape(str(first))[:120]}")
    raise BadRecord("not Jaeger JSON (no data list of traces)")


class JaegerParser(CorrelatingParser):
    """Turns Jaeger JSON traces into span rows; a span with bad ids is rejected alone."""

    table = Table.SPANS
    known = ("attributes", "resource")

    def feed(self, value: Any, where: Where) -> list[Reject]:
        try:
            traces = _traces(value)
        except BadRecord as exc:
            return [self.reject(where, str(exc))]
        rejects: list[Reject] = []
        for index, trace in enumerate(traces):
            try:
                rejects += self._trace(trace, where)
            except RECORD_ERRORS as exc:
                rejects.append(self.reject(where, f"data[{index}]: {reason_of(exc)}", trace))
        return rejects

    def _trace(self, trace: Any, where: Where) -> list[Reject]:
        if not isinstance(trace, dict):
            raise BadRecord("trace is not an object")
        processes = trace.get("processes")
        processes = processes if isinstance(processes, dict) else {}
        known: dict[str, _Process] = {}
        rejects = []
        for span in _list(trace, "spans"):
            try:
                process = self._process(span, processes, known)
                self.buffer.rows.append(self._row(span, trace.get("traceID"), process))
            except RECORD_ERRORS as exc:
                rejects.append(self.reject(where, reason_of(exc), span))
        return rejects

    @staticmethod
    def _process(span: Any, processes: dict[str, Any], known: dict[str, _Process]) -> _Process:
        """The span's inline process, else the trace's process its processID names."""
        if not isinstance(span, dict):
            raise BadRecord("span is not an object")
        if isinstance(span.get("process"), dict):
            return _Process(span["process"])
        process_id = span.get("processID")
        key = process_id if isinstance(process_id, str) else ""
        if key not in known:
            known[key] = _Process(processes.get(key))
        return known[key]

    def _row(self, span: dict[str, Any], trace_id: Any, process: _Process) -> SpanRow:
        span_tags = tags(span.get("tags"))
        attributes = {k: v for k, v in span_tags.items() if k not in TRANSLATED_TAGS}
        start, duration = _micros(span.get("startTime")), _micros(span.get("duration"))
        end = start + duration if start is not None and duration is not None else None
        parent_id, links = _parent_and_links(span)
        status, message = _status(span_tags)
        scope = span_tags.get("otel.scope.name", span_tags.get("otel.library.name"))
        name = span.get("operationName")
        sources = {"attributes": attributes, "resource": process.attributes}
        return SpanRow(
            trace_id=jaeger_id(span.get("traceID", trace_id), 16, "traceID"),
            span_id=jaeger_id(span.get("spanID"), 8, "spanID"),
            parent_span_id=parent_id, service=process.service,
            name=name if isinstance(name, str) else None, kind=_kind(span_tags),
            start_time=start, end_time=end if end is None or end <= _MAX_US else None,
            duration_ms=duration / 1000 if duration is not None else None,
            status_code=status, status_message=message,
            scope=scope if isinstance(scope, str) else None,
            attributes=orjson.dumps(attributes), resource=process.json,
            span_events=orjson.dumps(_span_events(span)), links=orjson.dumps(links),
            order_id=self.order_of(sources),
            message_id=self.message_of(sources),
        )
