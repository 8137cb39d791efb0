"""OTLP traces (JSON file-exporter lines, JSON or protobuf export requests) into `spans` rows."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from collectors.correlation import CorrelatingParser
from collectors.rows import (
    RECORD_ERRORS,
    BadRecord,
    SpanRow,
    Where,
    iso_from_micros,
    micros_from_nanos,
    reason_of,
)
from collectors.text import escape
from queries.ingest import Reject, Table

SPAN_KINDS = {
    "SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
}
STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_HEX = re.compile(r"[0-9a-fA-F]+")
_INT64 = (-(2**63), 2**64 - 1)  # intValue is int64; accept uint64 too rather than lose it
LOWER_HEX = "0123456789abcdef"
_OTHER_SIGNALS = {
    "resourceLogs": "logs", "resourceMetrics": "metrics", "resourceProfiles": "profiles",
}


def normalise_id(value: Any, size: int, field: str) -> str:
    """A trace or span id as lower-case hex from hex (any case) or base64; BadRecord if unusable."""
    if not isinstance(value, str) or not value.strip():
        raise BadRecord(f"span has an empty {field}")
    text = value.strip()
    if len(text) == size * 2 and _HEX.fullmatch(text):
        hex_id = text.lower()
    elif len(text) == (size + 2) // 3 * 4 and text.endswith("="):
        # Producers that used the plain protobuf JSON mapping wrote ids as base64.
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise BadRecord(f"span has an invalid {field} {escape(text[:40])!r}") from None
        if len(raw) != size:
            raise BadRecord(f"span has an invalid {field} {escape(text[:40])!r}")
        hex_id = raw.hex()
    else:
        raise BadRecord(f"span has an invalid {field} {escape(text[:40])!r}")
    if hex_id.count("0") == len(hex_id):
        raise BadRecord(f"span has an all-zero {field}")
    return hex_id


def parent_id(value: Any) -> str | None:
    """The parent span id; missing, empty or all-zero means a root span."""
    if value is None or (isinstance(value, str) and value.strip("0 ") == ""):
        return None
    return normalise_id(value, 8, "parentSpanId")


def enum_value(value: Any, names: dict[str, int], short_prefix: str) -> int | None:
    """An OTLP enum from its integer, numeric string or name (with or without the prefix)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 255 else None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isdecimal():
            return int(stripped) if int(stripped) <= 255 else None
        upper = stripped.upper()
        return names.get(upper, names.get(short_prefix + upper))
    return None


def int_value(value: Any) -> Any:
    """intValue as an int (from a decimal string or number); out of range or junk kept as is."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and len(value) <= 21:
        try:
            number = int(value)
        except ValueError:
            return value
    else:
        return value
    return number if _INT64[0] <= number <= _INT64[1] else str(number)


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as plain JSON (arrays as lists, kvlists as objects); `{}` is None."""
    if not isinstance(value, dict):
        return value  # lenient: a bare JSON value where an AnyValue was expected
    for key, inner in value.items():
        if key == "stringValue" or key == "boolValue" or key == "bytesValue":
            return inner
        if key == "intValue":
            return int_value(inner)
        if key == "doubleValue":
            return inner  # numbers, or the strings "NaN" / "Infinity" kept as text
        if key == "arrayValue":
            values = inner.get("values") if isinstance(inner, dict) else None
            return [any_value(item) for item in values or ()]
        if key == "kvlistValue":
            return flatten(inner.get("values") if isinstance(inner, dict) else None)
    return None


_MISSING = object()


def flatten(key_values: Any) -> dict[str, Any]:
    """A list of OTLP KeyValue as one `{"key": value}` object; later duplicates win."""
    flat: dict[str, Any] = {}
    if isinstance(key_values, list):
        for item in key_values:
            if isinstance(item, dict):
                key = item.get("key")
                if isinstance(key, str):
                    value: Any = item.get("value")
                    # Most values are one string: any_value's answer without the call.
                    inner = value.get("stringValue", _MISSING) if type(value) is dict else _MISSING
                    flat[key] = (inner if inner is not _MISSING and len(value) == 1
                                 else any_value(value))
    return flat


def _attributes(holder: Any) -> dict[str, Any]:
    return flatten(holder.get("attributes")) if isinstance(holder, dict) else {}


def _list(holder: dict[str, Any], *keys: str) -> list[Any]:
    """The first present list among `keys` (current name first, then legacy aliases)."""
    for key in keys:
        found = holder.get(key)
        if found is not None:
            if not isinstance(found, list):
                raise BadRecord(f"{key} is not a list")
            return found
    return []


def _span_events(span: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    for event in _list(span, "events"):
        if isinstance(event, dict):
            events.append({
                "time": iso_from_micros(micros_from_nanos(event.get("timeUnixNano"))),
                "name": event.get("name"),
                "attributes": _attributes(event),
            })
    return events


def link_id(value: Any, size: int, field: str) -> Any:
    try:
        return normalise_id(value, size, field)
    except BadRecord:
        return value  # a link to an unusable id is still worth showing as received


def _links(span: dict[str, Any]) -> list[dict[str, Any]]:
    links = []
    for link in _list(span, "links"):
        if isinstance(link, dict):
            links.append({
                "trace_id": link_id(link.get("traceId"), 16, "traceId"),
                "span_id": link_id(link.get("spanId"), 8, "spanId"),
                "attributes": _attributes(link),
            })
    return links


def _scope(scope_spans: Any) -> tuple[list[Any], str | None]:
    """The spans of one ScopeSpans (or legacy InstrumentationLibrarySpans) and its scope name."""
    if not isinstance(scope_spans, dict):
        raise BadRecord("not an object")
    scope = scope_spans.get("scope", scope_spans.get("instrumentationLibrary"))
    name = scope.get("name") if isinstance(scope, dict) else None
    return _list(scope_spans, "spans"), name if isinstance(name, str) else None


class _Resource:
    """What every span of one ResourceSpans shares: flattened resource, its JSON and the service."""

    def __init__(self, resource_spans: dict[str, Any]) -> None:
        self.attributes = _attributes(resource_spans.get("resource"))
        self.json = orjson.dumps(self.attributes)
        service = self.attributes.get("service.name")
        self.service = service if isinstance(service, str) else None


class OtlpParser(CorrelatingParser):
    """Turns OTLP JSON trace documents into span rows; a span with bad ids is rejected alone."""

    table = Table.SPANS
    known = ("attributes", "resource")

    def feed(self, value: Any, where: Where) -> list[Reject]:
        if not isinstance(value, dict):
            return [self.reject(where, "not an OTLP traces object")]
        resource_spans = value.get("resourceSpans", value.get("batches"))  # Tempo says batches
        if not isinstance(resource_spans, list):
            signal = next((name for key, name in _OTHER_SIGNALS.items() if key in value), None)
            reason = f"OTLP {signal}, not traces" if signal else "no resourceSpans list"
            return [self.reject(where, reason)]
        rejects: list[Reject] = []
        for index, entry in enumerate(resource_spans):
            try:
                rejects += self._resource_spans(entry, where)
            except RECORD_ERRORS as exc:
                reason = f"resourceSpans[{index}]: {reason_of(exc)}"
                rejects.append(self.reject(where, reason, entry))
        return rejects

    def _resource_spans(self, entry: Any, where: Where) -> list[Reject]:
        if not isinstance(entry, dict):
            raise BadRecord("not an object")
        resource = _Resource(entry)
        rejects = []
        for scope_spans in _list(entry, "scopeSpans", "instrumentationLibrarySpans"):
            try:
                spans, scope_name = _scope(scope_spans)
            except RECORD_ERRORS as exc:
                rejects.append(self.reject(where, f"scopeSpans: {reason_of(exc)}", scope_spans))
                continue
            for span in spans:
                try:
                    self.buffer.rows.append(self._row(span, resource, scope_name))
                except RECORD_ERRORS as exc:
                    rejects.append(self.reject(where, reason_of(exc), span))
        return rejects

    def _row(self, span: Any, resource: _Resource, scope: str | None) -> SpanRow:
        # Runs once a span (a million in a few seconds): plain locals, positional fields, and the
        # usual shape of each field checked here, the helpers called only for the others (a
        # tenth of the parser's time against calling them for every field).
        if not isinstance(span, dict):
            raise BadRecord("span is not an object")
        get = span.get
        trace_id, span_id, parent = get("traceId"), get("spanId"), get("parentSpanId")
        if not (type(trace_id) is str and len(trace_id) == 32
                and not trace_id.strip(LOWER_HEX) and trace_id.strip("0")):
            trace_id = normalise_id(trace_id, 16, "traceId")
        if not (type(span_id) is str and len(span_id) == 16
                and not span_id.strip(LOWER_HEX) and span_id.strip("0")):
            span_id = normalise_id(span_id, 8, "spanId")
        if parent is not None and not (type(parent) is str and len(parent) == 16
                                       and not parent.strip(LOWER_HEX) and parent.strip("0")):
            parent = parent_id(parent)
        start, end = get("startTimeUnixNano"), get("endTimeUnixNano")
        start = (int(start[:-3]) if type(start) is str and len(start) == 19 and start.isdecimal()
                 and start[0] != "0" else micros_from_nanos(start))
        end = (int(end[:-3]) if type(end) is str and len(end) == 19 and end.isdecimal()
               and end[0] != "0" else micros_from_nanos(end))
        kind = get("kind", 0)
        if not (type(kind) is int and 0 <= kind <= 255):
            kind = enum_value(kind, SPAN_KINDS, "SPAN_KIND_")
        status = get("status")
        code: int | None
        message: str | None
        if not isinstance(status, dict) or not status:
            code, message = 0, None  # missing, {} (the usual) or not an object: unset
        else:
            code = enum_value(status.get("code", 0), STATUS_CODES, "STATUS_CODE_")
            message = _str(status.get("message")) or None
        name = get("name")
        attributes = flatten(get("attributes"))
        sources = {"attributes": attributes, "resource": resource.attributes}
        return new_row(SpanRow, (
            trace_id,
            span_id,
            parent,
            resource.service,
            name if type(name) is str else _str(name),
            kind,
            start,
            end,
            (end - start) / 1000 if start is not None and end is not None else None,
            code,
            message,
            scope,
            orjson.dumps(attributes),
            resource.json,
            # most spans have no events and no links
            b"[]" if get("events") is None else _json_list(_span_events(span)),
            b"[]" if get("links") is None else _json_list(_links(span)),
            self.order_of(sources),
            self.message_of(sources),
        ))


# SpanRow(...) runs the NamedTuple's __new__ in Python, a frame of 18 arguments for every span;
# tuple.__new__ makes the same SpanRow in C (2% of the instructions that parsing a span takes).
new_row = tuple.__new__


def _json_list(items: list[Any]) -> bytes:
    return orjson.dumps(items) if items else b"[]"  # most spans have no events and no links


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
