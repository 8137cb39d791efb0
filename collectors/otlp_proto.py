"""OTLP protobuf export requests (the OTLP/HTTP receiver's usual body) into `spans` rows."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from collectors.otlp import OtlpParser
from collectors.rows import BadRecord, SpanRow, Where, iso_from_micros
from queries.ingest import Reject

_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)


def _proto_value(value: Any) -> Any:
    """A protobuf AnyValue as plain JSON, as `any_value` gives for OTLP JSON (bytes as base64)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_proto_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return proto_flatten(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def proto_flatten(key_values: Any) -> dict[str, Any]:
    """Protobuf KeyValues as one `{"key": value}` object; later duplicates win."""
    flat: dict[str, Any] = {}
    for item in key_values:
        value = item.value
        # Nearly every attribute is a string: one oneof check instead of a call per value.
        if value.WhichOneof("value") == "string_value":
            flat[item.key] = value.string_value
        else:
            flat[item.key] = _proto_value(value)
    return flat


def _proto_id(raw: bytes, zero: bytes, field: str) -> str:
    if len(raw) != len(zero):
        raise BadRecord(f"span has an empty {field}" if not raw else f"span has an invalid {field}")
    if raw == zero:
        raise BadRecord(f"span has an all-zero {field}")
    return raw.hex()


def _proto_events(span: Any) -> bytes:
    return orjson.dumps([
        {"time": iso_from_micros(event.time_unix_nano // 1000 or None), "name": event.name,
         "attributes": proto_flatten(event.attributes)} for event in span.events])


def _proto_links(span: Any) -> bytes:
    return orjson.dumps([
        {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
         "attributes": proto_flatten(link.attributes)} for link in span.links])


class ProtoSpans(OtlpParser):
    """Span rows from a protobuf ExportTraceServiceRequest (ids are bytes there, not hex)."""

    def feed_request(self, request: Any, where: Where) -> list[Reject]:
        rejects: list[Reject] = []
        append = self.buffer.rows.append
        for resource_spans in request.resource_spans:
            resource = proto_flatten(resource_spans.resource.attributes)
            shared = (resource, orjson.dumps(resource), _service(resource))
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope.name or None
                for span in scope_spans.spans:
                    try:
                        append(self._proto_row(span, shared, scope))
                    except (BadRecord, ValueError, TypeError) as exc:
                        rejects.append(Reject(self.source, where.line, str(exc),
                                              f"span {span.name[:80]!r}", where.offset))
        return rejects

    def _proto_row(self, span: Any, shared: tuple[dict[str, Any], bytes, str | None],
                   scope: str | None) -> SpanRow:
        resource, resource_json, service = shared
        attributes = proto_flatten(span.attributes)
        start = span.start_time_unix_nano // 1000 or None
        end = span.end_time_unix_nano // 1000 or None
        parent = span.parent_span_id
        kind, status = span.kind, span.status
        code = status.code
        sources = {"attributes": attributes, "resource": resource}
        return SpanRow(
            _proto_id(span.trace_id, _ZERO_TRACE, "traceId"),
            _proto_id(span.span_id, _ZERO_SPAN, "spanId"),
            None if not parent or parent == _ZERO_SPAN else _proto_id(parent, _ZERO_SPAN, "parentSpanId"),
            service, span.name, kind if 0 <= kind <= 255 else None, start, end,
            (end - start) / 1000 if start is not None and end is not None else None,
            code if 0 <= code <= 255 else None,  # an unknown enum value must not break the batch
            status.message or None, scope, orjson.dumps(attributes), resource_json,
            _proto_events(span) if span.events else b"[]",
            _proto_links(span) if span.links else b"[]",
            self.order_of(sources), self.message_of(sources),
        )


def _service(resource: dict[str, Any]) -> str | None:
    service = resource.get("service.name")
    return service if isinstance(service, str) else None
