"""OTLP JSON lines of the usual shape decoded straight into structs: the quick way to span rows.

`orjson.loads` builds a dict for every object of a line (a Collector line holds about 500 spans,
each with a dozen small objects) and the parser then looks every member up. msgspec decodes the
same text into the structs below, skipping the members backroom does not read: 2.9 µs a span
against orjson's 5.3, and reading the structs' fields costs less than `dict.get`.

A shortcut, never a second opinion. `decode` gives `Traces` only when the line is valid UTF-8
and every member read has the type the usual shape has; `TypedOtlpParser` makes the rows the
general path would make (ids in upper case or base64 normalised alike) and gives up at anything
else: a span the general path would reject, legacy or Tempo names, an AnyValue with more than
one value member, a number beyond int64 where an int is read. The line is then parsed again
with orjson and goes the general way, so its rows and rejects are the general path's
(tests/test_otlp_typed.py compares both paths on quirky, random and damaged lines).

One difference stays, in a member backroom does not read: orjson refuses a number beyond a
double (`1e400`) anywhere in a line, msgspec only where it reads it. Such a line's spans are
stored rather than the line rejected; its members that backroom reads are the same either way.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import orjson
from msgspec import UNSET, Meta, Struct, UnsetType

from collectors.detect import line_error
from collectors.otlp import (
    LOWER_HEX,
    SPAN_KINDS,
    STATUS_CODES,
    OtlpParser,
    enum_value,
    int_value,
    link_id,
    new_row,
    normalise_id,
    parent_id,
)
from collectors.rows import (
    RECORD_ERRORS,
    SpanRow,
    Where,
    iso_from_micros,
    micros_from_nanos,
)
from collectors.text import excerpt
from queries.ingest import Reject

Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]  # orjson reads a larger one as a float
Nanos = str | int | float | None | UnsetType


class Unusual(Exception):
    """A line the typed path does not vouch for: it goes the general way."""


class ArrayValue(Struct, gc=False):
    values: list[AnyValue] | None | UnsetType = UNSET


class KeyValueList(Struct, gc=False):
    values: list[KeyValue] | None | UnsetType = UNSET


class AnyValue(Struct, gc=False):
    stringValue: str | None | UnsetType = UNSET
    boolValue: bool | None | UnsetType = UNSET
    intValue: Int64 | str | None | UnsetType = UNSET
    doubleValue: Int64 | float | str | None | UnsetType = UNSET
    bytesValue: str | None | UnsetType = UNSET
    arrayValue: ArrayValue | None | UnsetType = UNSET
    kvlistValue: KeyValueList | None | UnsetType = UNSET


class KeyValue(Struct, gc=False):
    key: str
    value: AnyValue | None | UnsetType = UNSET


Attributes = list[KeyValue] | None | UnsetType


class Status(Struct, gc=False):
    code: int | str | None | UnsetType = UNSET
    message: str | None | UnsetType = UNSET


class Event(Struct, gc=False):
    timeUnixNano: Nanos = UNSET
    name: str | None | UnsetType = UNSET
    attributes: Attributes = UNSET


class Link(Struct, gc=False):
    traceId: str | None | UnsetType = UNSET
    spanId: str | None | UnsetType = UNSET
    attributes: Attributes = UNSET


class Span(Struct, gc=False):
    traceId: str
    spanId: str
    parentSpanId: str | None | UnsetType = UNSET
    name: str | None | UnsetType = UNSET
    kind: int | str | None | UnsetType = UNSET
    startTimeUnixNano: Nanos = UNSET
    endTimeUnixNano: Nanos = UNSET
    attributes: Attributes = UNSET
    status: Status | None | UnsetType = UNSET
    events: list[Event] | None | UnsetType = UNSET
    links: list[Link] | None | UnsetType = UNSET


class Scope(Struct, gc=False):
    name: str | None | UnsetType = UNSET


class ScopeSpans(Struct, gc=False):
    scope: Scope | None | UnsetType = UNSET
    instrumentationLibrary: Scope | None | UnsetType = UNSET  # legacy: the general path's
    spans: list[Span] | None | UnsetType = UNSET


class Resource(Struct, gc=False):
    attributes: Attributes = UNSET


class ResourceSpans(Struct, gc=False):
    resource: Resource | None | UnsetType = UNSET
    scopeSpans: list[ScopeSpans] | None | UnsetType = UNSET
    instrumentationLibrarySpans: Any = UNSET  # legacy: the general path's


class Traces(Struct, gc=False):
    resourceSpans: list[ResourceSpans] | None | UnsetType = UNSET  # missing: Tempo's `batches`?


_DECODER = msgspec.json.Decoder(Traces)


def decode(data: bytes) -> Any:
    """A line as `Traces` when msgspec reads it so, else as orjson reads it (raising as it does)."""
    if data.isascii() or _utf8(data):  # msgspec does not check strings it skips
        try:
            return _DECODER.decode(data)
        except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
            pass
    return orjson.loads(data)


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def value_of(value: AnyValue | None | UnsetType) -> Any:
    """`otlp.any_value` of a typed AnyValue: its one value member, converted the same way."""
    if value is None or value is UNSET:
        return None
    found = [(index, inner) for index, inner in enumerate(msgspec.structs.astuple(value))
             if inner is not UNSET]
    if not found:
        return None
    if len(found) > 1:
        raise Unusual  # the general path takes the first in the text, which a struct forgets
    index, inner = found[0]
    if index == 2:  # intValue
        return int_value(inner)
    if index == 5:  # arrayValue
        values = inner.values if inner is not None else None
        return [value_of(item) for item in values] if values else []
    if index == 6:  # kvlistValue
        return flat(inner.values if inner is not None else None)
    return inner


def flat(key_values: Attributes) -> dict[str, Any]:
    """`otlp.flatten` of typed KeyValues: one `{"key": value}` object, later duplicates win."""
    result: dict[str, Any] = {}
    if key_values is None or key_values is UNSET:
        return result
    for item in key_values:
        value = item.value
        if value is None or value is UNSET:
            result[item.key] = None
            continue
        inner = value.stringValue  # most values are one string
        if (inner.__class__ is str and value.intValue is UNSET and value.doubleValue is UNSET
                and value.boolValue is UNSET and value.bytesValue is UNSET
                and value.arrayValue is UNSET and value.kvlistValue is UNSET):
            result[item.key] = inner
        else:
            result[item.key] = value_of(value)
    return result


def events_json(events: list[Event]) -> bytes:
    """A span's events as the general path writes them."""
    if not events:
        return b"[]"
    return orjson.dumps([
        {"time": iso_from_micros(micros_from_nanos(_or_none(event.timeUnixNano))),
         "name": _or_none(event.name), "attributes": flat(event.attributes)}
        for event in events])


def links_json(links: list[Link]) -> bytes:
    """A span's links as the general path writes them (an unusable id kept as received)."""
    if not links:
        return b"[]"
    return orjson.dumps([
        {"trace_id": link_id(_or_none(link.traceId), 16, "traceId"),
         "span_id": link_id(_or_none(link.spanId), 8, "spanId"),
         "attributes": flat(link.attributes)}
        for link in links])


def _or_none(value: Any) -> Any:
    return None if value is UNSET else value


class TypedOtlpParser(OtlpParser):
    """OtlpParser that takes the lines `decode` gave as `Traces` the quick way, the rest as before."""

    decode = staticmethod(decode)

    def feed(self, value: Any, where: Where) -> list[Reject]:
        if type(value) is not Traces:
            return super().feed(value, where)
        rows = self.buffer.rows
        before = len(rows)
        try:
            self._traces(value)
            return []
        except (Unusual, *RECORD_ERRORS):
            del rows[before:]
        try:
            general = orjson.loads(where.raw)
        except orjson.JSONDecodeError:  # as `detect.Records` rejects a line orjson refuses
            return [Reject(self.source, where.line, line_error(where.raw),
                           excerpt(where.raw.rstrip()), where.offset)]
        return super().feed(general, where)

    def _traces(self, traces: Traces) -> None:
        resource_spans = traces.resourceSpans
        if resource_spans is UNSET or resource_spans is None:
            raise Unusual  # Tempo's `batches`, or a reject
        append = self.buffer.rows.append
        for entry in resource_spans:
            scopes = entry.scopeSpans
            if scopes is None or scopes is UNSET:
                if entry.instrumentationLibrarySpans is not UNSET:
                    raise Unusual
                continue
            resource = entry.resource
            attributes = (flat(resource.attributes)
                          if resource is not None and resource is not UNSET else {})
            shared = (attributes, orjson.dumps(attributes), attributes.get("service.name"))
            for scope_spans in scopes:
                scope = scope_spans.scope
                if scope is UNSET:
                    scope = scope_spans.instrumentationLibrary
                name = scope.name if scope is not None and scope is not UNSET else None
                spans = scope_spans.spans
                for span in spans if spans is not None and spans is not UNSET else ():
                    append(self._typed_row(span, shared, _or_none(name)))

    def _typed_row(self, span: Span, shared: tuple[dict[str, Any], bytes, Any],
                   scope: str | None) -> SpanRow:
        # OtlpParser._row for a Span struct; each field as the general path takes it.
        trace_id, span_id, parent = span.traceId, span.spanId, span.parentSpanId
        if not (len(trace_id) == 32 and not trace_id.strip(LOWER_HEX) and trace_id.strip("0")):
            trace_id = normalise_id(trace_id, 16, "traceId")
        if not (len(span_id) == 16 and not span_id.strip(LOWER_HEX) and span_id.strip("0")):
            span_id = normalise_id(span_id, 8, "spanId")
        if parent is UNSET:
            parent = None
        elif parent is not None and not (len(parent) == 16 and not parent.strip(LOWER_HEX)
                                         and parent.strip("0")):
            parent = parent_id(parent)
        start, end = span.startTimeUnixNano, span.endTimeUnixNano
        start = (int(start[:-3]) if type(start) is str and len(start) == 19 and start.isdecimal()
                 and start[0] != "0" else micros_from_nanos(_or_none(start)))
        end = (int(end[:-3]) if type(end) is str and len(end) == 19 and end.isdecimal()
               and end[0] != "0" else micros_from_nanos(_or_none(end)))
        kind = span.kind
        if kind is UNSET:
            kind = 0
        elif not (type(kind) is int and 0 <= kind <= 255):
            kind = enum_value(kind, SPAN_KINDS, "SPAN_KIND_")
        status = span.status
        code: Any = 0
        message = None
        if status is not None and status is not UNSET:
            code = status.code
            if code is UNSET:
                code = 0
            elif not (type(code) is int and 0 <= code <= 255):
                code = enum_value(code, STATUS_CODES, "STATUS_CODE_")
            message = status.message or None if status.message is not UNSET else None
        resource, resource_json, service = shared
        attributes = flat(span.attributes)
        sources = {"attributes": attributes, "resource": resource}
        events, links = span.events, span.links
        return new_row(SpanRow, (
            trace_id,
            span_id,
            parent,
            service if type(service) is str else None,
            _or_none(span.name),
            kind,
            start,
            end,
            (end - start) / 1000 if start is not None and end is not None else None,
            code,
            message,
            scope,
            orjson.dumps(attributes),
            resource_json,
            events_json(events) if events is not None and events is not UNSET else b"[]",
            links_json(links) if links is not None and links is not UNSET else b"[]",
            self.order_of(sources),
            self.message_of(sources),
        ))
