"""The receiver's protobuf span rows: as the OTLP JSON path gives them, and as a plain reference gives them."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from collectors.correlation import Correlation, correlate
from collectors.otlp import OtlpParser
from collectors.otlp_proto import ProtoSpans
from collectors.rows import SpanRow, Where, iso_from_micros
from queries import policy

WHERE = Where(1, 0, b"")
IDS = ("traceId", "spanId", "parentSpanId")


def otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP JSON of a protobuf request (FORMATS.md 1.9: integer enums, hex ids)."""
    document = MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for holder in (span, *span.get("links", [])):
                    for key in IDS:
                        if key in holder:
                            holder[key] = base64.b64decode(holder[key]).hex()
    return document


def both_paths(request: ExportTraceServiceRequest) -> tuple[list[Any], list[Any]]:
    rules = policy.load()
    proto, json = ProtoSpans("test", rules), OtlpParser("test", rules)
    assert proto.feed_request(ExportTraceServiceRequest.FromString(request.SerializeToString()),
                              WHERE) == []
    assert json.feed(otlp_json(request), WHERE) == []
    return proto.buffer.rows, json.buffer.rows


def test_a_real_sdk_export_gives_the_same_rows_either_way() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout", "pid": 7}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("checkout.orders", "2.3.0")
    with tracer.start_as_current_span("POST /orders", attributes={
            "retail.order_id": "o-1001", "http.response.status_code": 201, "ratio": 0.25,
            "cached": False, "skus": ["SKU-1", "SKU-2"], "sizes": [1, 2]}) as parent:
        parent.add_event("broker.nack", {"retry": True, "attempt": 2})
        with tracer.start_as_current_span("shop publish", links=[Link(parent.get_span_context(),
                                                                         {"why": "fan-out"})],
                                          attributes={"messaging.message.id": "m-1"}) as child:
            child.set_status(Status(StatusCode.ERROR, "publish not confirmed"))
    proto_rows, json_rows = both_paths(encode_spans(memory.get_finished_spans()))
    assert len(proto_rows) == 2
    assert proto_rows == json_rows
    assert {row.order_id for row in proto_rows} == {"o-1001", None}
    assert {row.message_id for row in proto_rows} == {None, "m-1"}


scalars = st.one_of(
    st.text(max_size=8).map(lambda text: AnyValue(string_value=text)),
    st.booleans().map(lambda flag: AnyValue(bool_value=flag)),
    st.integers(-(2**63), 2**63 - 1).map(lambda number: AnyValue(int_value=number)),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda number: AnyValue(double_value=number)),
    st.binary(max_size=6).map(lambda raw: AnyValue(bytes_value=raw)),
    st.just(AnyValue()),
)


def _nest(children: st.SearchStrategy[AnyValue]) -> st.SearchStrategy[AnyValue]:
    def array(values: list[AnyValue]) -> AnyValue:
        value = AnyValue()
        value.array_value.values.extend(values)
        return value

    def kvlist(pairs: list[tuple[str, AnyValue]]) -> AnyValue:
        value = AnyValue()
        for key, inner in pairs:
            value.kvlist_value.values.add(key=key).value.CopyFrom(inner)
        return value

    return st.one_of(st.lists(children, max_size=3).map(array),
                     st.lists(st.tuples(st.text(max_size=4), children), max_size=3).map(kvlist))


any_values = st.recursive(scalars, _nest, max_leaves=6)
attributes = st.lists(st.tuples(st.sampled_from(["retail.order_id", "messaging.message.id", "a",
                                                 "service.name"]), any_values), max_size=4)


@st.composite
def requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        resource_spans = request.resource_spans.add()
        for key, value in draw(attributes):
            resource_spans.resource.attributes.add(key=key).value.CopyFrom(value)
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = draw(st.sampled_from(["", "checkout"]))
        for _ in range(draw(st.integers(0, 3))):
            span = scope_spans.spans.add(
                trace_id=draw(st.binary(min_size=16, max_size=16).filter(any)),
                span_id=draw(st.binary(min_size=8, max_size=8).filter(any)),
                parent_span_id=draw(st.sampled_from([b"", bytes(8), b"\x01" * 8])),
                name=draw(st.text(max_size=6)), kind=draw(st.integers(0, 5)),
                start_time_unix_nano=draw(st.integers(0, 2**62)),
                end_time_unix_nano=draw(st.integers(0, 2**62)))
            span.status.code = draw(st.integers(0, 2))
            span.status.message = draw(st.sampled_from(["", "boom"]))
            for key, value in draw(attributes):
                span.attributes.add(key=key).value.CopyFrom(value)
            for _ in range(draw(st.integers(0, 1))):
                event = span.events.add(name="e", time_unix_nano=draw(st.integers(0, 2**62)))
                for key, value in draw(attributes):
                    event.attributes.add(key=key).value.CopyFrom(value)
            for _ in range(draw(st.integers(0, 1))):
                span.links.add(trace_id=draw(st.binary(min_size=16, max_size=16).filter(any)),
                               span_id=draw(st.binary(min_size=8, max_size=8).filter(any)))
    return request


def _plain(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _plain(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None if kind is None else getattr(value, kind)


def _reference_row(span: Any, resource: dict[str, Any], scope: str | None, paths: Any) -> SpanRow:
    """A span row the plain way (the receiver's code before it was tuned), field by field."""
    attributes = {item.key: _plain(item.value) for item in span.attributes}
    start, end = span.start_time_unix_nano // 1000 or None, span.end_time_unix_nano // 1000 or None
    sources = {"attributes": attributes, "resource": resource}
    service = resource.get("service.name")
    return SpanRow(
        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() if any(span.parent_span_id) else None,
        service=service if isinstance(service, str) else None, name=span.name, kind=span.kind,
        start_time=start, end_time=end,
        duration_ms=(end - start) / 1000 if start is not None and end is not None else None,
        status_code=span.status.code, status_message=span.status.message or None, scope=scope,
        attributes=orjson.dumps(attributes), resource=orjson.dumps(resource),
        span_events=orjson.dumps([
            {"time": iso_from_micros(e.time_unix_nano // 1000 or None), "name": e.name,
             "attributes": {item.key: _plain(item.value) for item in e.attributes}}
            for e in span.events]),
        links=orjson.dumps([
            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
             "attributes": {item.key: _plain(item.value) for item in link.attributes}}
            for link in span.links]),
        order_id=correlate(paths.order_paths, sources),
        message_id=correlate(paths.message_paths, sources),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_the_tuned_conversion_gives_the_reference_rows(request: ExportTraceServiceRequest) -> None:
    parser = ProtoSpans("test", policy.load())
    assert parser.feed_request(ExportTraceServiceRequest.FromString(request.SerializeToString()),
                               WHERE) == []
    expected = []
    for resource_spans in request.resource_spans:
        resource = {item.key: _plain(item.value) for item in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            expected += [_reference_row(span, resource, scope_spans.scope.name or None, parser)
                         for span in scope_spans.spans]
    assert parser.buffer.rows == expected
    for row, reference in zip(parser.buffer.rows, expected, strict=True):
        assert [type(value) for value in row] == [type(value) for value in reference]


def test_an_unknown_status_code_is_stored_as_null_not_a_broken_batch() -> None:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(
        trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="odd", kind=300)
    span.status.code = 300  # an open enum: values the proto does not name still decode
    parser = ProtoSpans("test", policy.load())
    assert parser.feed_request(ExportTraceServiceRequest.FromString(request.SerializeToString()),
                               WHERE) == []
    (row,) = parser.buffer.rows
    assert (row.kind, row.status_code) == (None, None)
    assert parser.buffer.take(1).num_rows == 1  # the batch still becomes a typed Arrow table


_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False),
                  st.sampled_from(["", " ", "SO-1", "x.y"]))
_KEYS = st.sampled_from(["a", "b", "a.b", "a.b.c", "b.c", "c"])
_OBJECTS = st.recursive(_LEAF, lambda inner: st.dictionaries(_KEYS, inner, max_size=4), max_leaves=8)


@given(paths=st.lists(st.tuples(st.sampled_from(["attributes", "resource"]),
                                st.sampled_from(["a", "a.b", "a.b.c", "b.c", "c"])),
                      max_size=3),
       attributes=_OBJECTS, resource=_OBJECTS)
def test_the_parsers_correlation_answers_as_its_definition(
        paths: list[tuple[str, str]], attributes: Any, resource: Any) -> None:
    """Correlation skips prefixes that are not keys; it must find what `correlate` finds."""
    sources = {"attributes": attributes, "resource": resource}
    assert Correlation(paths)(sources) == correlate(paths, sources)
