"""The OTLP/HTTP trace receiver (FORMATS.md 1.7): protobuf and JSON bodies into buffered span rows."""

from __future__ import annotations

import base64
import threading
import zlib
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from collectors.live import Batch, LiveWriter, SourceStats, StoredNothing
from collectors.otlp import OtlpParser
from collectors.rows import BadRecord, SpanRow, Where, correlate, iso_from_micros
from queries.ingest import Reject, Table
from queries.policy import Policy

MAX_BODY = 64 * 1024 * 1024  # FORMATS.md 1.7: bound the decompressed body, 64 MiB recommended
PROTOBUF, JSON = "application/x-protobuf", "application/json"
RETRY_AFTER_SECONDS = 2
_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)


class Refused(Exception):
    """A request answered with an error status and a google.rpc.Status body."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _value(value: Any) -> Any:
    """A protobuf AnyValue as plain JSON, as `collectors.otlp.any_value` does for OTLP JSON."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _flat(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()  # as OTLP JSON carries bytes
    return getattr(value, kind)


def _flat(key_values: Any) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in key_values}


def _id(raw: bytes, zero: bytes, field: str) -> str:
    if len(raw) != len(zero):
        raise BadRecord(f"span has an empty {field}" if not raw else f"span has an invalid {field}")
    if raw == zero:
        raise BadRecord(f"span has an all-zero {field}")
    return raw.hex()


class ProtoSpans(OtlpParser):
    """Span rows from a protobuf ExportTraceServiceRequest (ids are bytes there, not hex)."""

    def feed_request(self, request: ExportTraceServiceRequest, where: Where) -> list[Reject]:
        rejects: list[Reject] = []
        for resource_spans in request.resource_spans:
            resource = _flat(resource_spans.resource.attributes)
            resource_json = orjson.dumps(resource)
            service = resource.get("service.name")
            service = service if isinstance(service, str) else None
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope.name or None
                for span in scope_spans.spans:
                    try:
                        self.buffer.rows.append(
                            self._proto_row(span, resource, resource_json, service, scope))
                    except (BadRecord, ValueError, TypeError) as exc:
                        rejects.append(Reject(self.source, where.line, str(exc),
                                              f"span {span.name[:80]!r}", where.offset))
        return rejects

    def _proto_row(
        self, span: Any, resource: dict[str, Any], resource_json: bytes, service: str | None,
        scope: str | None,
    ) -> SpanRow:
        attributes = _flat(span.attributes)
        start = span.start_time_unix_nano // 1000 or None
        end = span.end_time_unix_nano // 1000 or None
        sources = {"attributes": attributes, "resource": resource}
        parent = span.parent_span_id
        return SpanRow(
            trace_id=_id(span.trace_id, _ZERO_TRACE, "traceId"),
            span_id=_id(span.span_id, _ZERO_SPAN, "spanId"),
            parent_span_id=None if not parent or parent == _ZERO_SPAN
            else _id(parent, _ZERO_SPAN, "parentSpanId"),
            service=service, name=span.name, kind=span.kind if 0 <= span.kind <= 255 else None,
            start_time=start, end_time=end,
            duration_ms=(end - start) / 1000 if start is not None and end is not None else None,
            status_code=span.status.code, status_message=span.status.message or None,
            scope=scope, attributes=orjson.dumps(attributes), resource=resource_json,
            span_events=orjson.dumps([
                {"time": iso_from_micros(e.time_unix_nano // 1000 or None), "name": e.name,
                 "attributes": _flat(e.attributes)} for e in span.events]),
            links=orjson.dumps([
                {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
                 "attributes": _flat(link.attributes)} for link in span.links]),
            order_id=correlate(self.order_paths, sources),
            message_id=correlate(self.message_paths, sources),
        )


class SpanIntake:
    """Acknowledged spans waiting for the store, flushed every second or every `batch_spans`."""

    def __init__(
        self, writer: LiveWriter, stats: SourceStats, *, batch_spans: int = 20_000,
        max_buffered: int = 400_000, interval: float = 1.0,
    ) -> None:
        self.writer, self.stats = writer, stats
        self.batch_spans, self.max_buffered, self.interval = batch_spans, max_buffered, interval
        self._rows: list[tuple[Any, ...]] = []
        self._rejects: list[Reject] = []
        self._in_flight = 0
        self._refusing = False  # the last flush could neither store nor spool
        self._cond = threading.Condition()
        self._closing = False
        self.unstored: str | None = None
        self._thread = threading.Thread(target=self._run, name="otlp-flush", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, rows: list[tuple[Any, ...]], rejects: list[Reject]) -> bool:
        """Take rows for flushing; False (answer 503) when the store cannot keep up."""
        with self._cond:
            held = len(self._rows) + self._in_flight
            if self._closing or (rows and (self._refusing or held + len(rows) > self.max_buffered)):
                return False
            self._rows += rows
            self._rejects += rejects
            if len(self._rows) >= self.batch_spans:
                self._cond.notify_all()
            return True

    def close(self) -> None:
        """Flush everything acknowledged, then stop the flusher."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._closing and len(self._rows) < self.batch_spans:
                    self._cond.wait(self.interval)
                closing = self._closing
                rows, self._rows = self._rows, []
                rejects, self._rejects = self._rejects, []
                self._in_flight = len(rows)
            if rows or rejects:
                self._flush(rows, rejects, final=closing)
            if closing and not self._rows:
                return

    def _flush(self, rows: list[tuple[Any, ...]], rejects: list[Reject], final: bool) -> None:
        batch = Batch(self.stats.name, "otlp", Table.SPANS, rows, rejects)
        try:
            self.writer.write(batch, self.stats, may_spool=True)
            failed = False
        except StoredNothing as exc:
            failed = True
            if final:  # shutting down with nowhere to put them: say so, do not loop forever
                self.unstored = f"{len(rows):,} acknowledged spans not stored: {exc}"
                self.stats.error = self.unstored
        with self._cond:
            self._in_flight = 0
            self._refusing = failed and not final
            if failed and not final:
                self._rows[:0], self._rejects[:0] = rows, rejects  # keep them, first in line
                self._cond.wait(self.interval)  # back off before trying the store again


def _status_body(content_type: str, status: HTTPStatus, message: str) -> bytes:
    """A google.rpc.Status (code from the HTTP status, as the OTLP spec's examples do)."""
    code = {400: 3, 404: 5, 413: 8, 415: 3, 503: 14}.get(status.value, 2)
    if content_type == PROTOBUF:
        text = message.encode()
        return b"\x08" + bytes([code]) + b"\x12" + _varint(len(text)) + text
    return orjson.dumps({"code": code, "message": message, "details": []})


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _success_body(content_type: str, rejected: int, message: str) -> bytes:
    if content_type == PROTOBUF:
        response = ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = message
        return response.SerializeToString()
    if not rejected:
        return b"{}"
    return orjson.dumps({"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}})


def _decompress(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, f"body is not valid gzip: {exc}") from None
    if len(data) > limit:
        raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit:,} bytes decompressed")
    return data


class OtlpReceiver:
    """A threaded HTTP server answering `POST /v1/traces`, bound only to the address given."""

    def __init__(self, host: str, port: int, intake: SpanIntake, policy: Policy,
                 max_body: int = MAX_BODY) -> None:
        self.intake, self.policy, self.max_body = intake, policy, max_body
        self.source = intake.stats.name
        self._requests = 0
        self._count_lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), _handler_for(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="otlp-http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]  # type: ignore[return-value]

    def start(self) -> None:
        self.intake.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop answering, then flush every acknowledged span."""
        self.server.shutdown()
        self.server.server_close()
        self.intake.close()

    def handle(self, content_type: str, encoding: str, body: bytes) -> tuple[HTTPStatus, bytes]:
        """Decode, buffer and answer one export request."""
        if encoding == "gzip":
            body = _decompress(body, self.max_body)
        elif encoding not in ("", "identity"):
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"unsupported Content-Encoding {encoding!r}")
        with self._count_lock:
            self._requests += 1
            where = Where(self._requests, 0, b"")
        rows, rejects = self._parse(content_type, body, where)
        if not self.intake.offer(rows, rejects):
            raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, "store busy and spool full; retry later")
        message = "; ".join(sorted({r.reason for r in rejects}))[:500]
        return HTTPStatus.OK, _success_body(content_type, len(rejects), message)

    def _parse(self, content_type: str, body: bytes, where: Where) -> tuple[list[Any], list[Reject]]:
        parser = ProtoSpans(self.source, self.policy)
        if content_type == PROTOBUF:
            try:
                request = ExportTraceServiceRequest.FromString(body)
            except DecodeError as exc:
                raise Refused(HTTPStatus.BAD_REQUEST, f"not an ExportTraceServiceRequest: {exc}") from None
            rejects = parser.feed_request(request, where)
        else:
            try:
                value = orjson.loads(body) if body.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise Refused(HTTPStatus.BAD_REQUEST, f"invalid JSON: {exc}") from None
            if not isinstance(value, dict):
                raise Refused(HTTPStatus.BAD_REQUEST, "not an ExportTraceServiceRequest object")
            rejects = parser.feed(value, where) if value else []  # `{}` is an empty request
        return parser.buffer.rows, rejects


def _handler_for(receiver: OtlpReceiver) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connection

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            reply_type = content_type if content_type in (PROTOBUF, JSON) else JSON
            try:
                status, body = self._answer(content_type)
            except Refused as refused:
                status, body = refused.status, _status_body(reply_type, refused.status, str(refused))
            self._send(status, reply_type, body)

        def _answer(self, content_type: str) -> tuple[HTTPStatus, bytes]:
            length = int(self.headers.get("Content-Length") or -1)
            if self.path.split("?")[0] != "/v1/traces":
                self._discard(length)
                raise Refused(HTTPStatus.NOT_FOUND, f"no such path {self.path[:100]!r}: use /v1/traces")
            if content_type not in (PROTOBUF, JSON):
                self._discard(length)
                raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              f"Content-Type must be {PROTOBUF} or {JSON}")
            if length < 0:
                self.close_connection = True
                raise Refused(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
            if length > receiver.max_body:
                self.close_connection = True  # the unread body would be taken as the next request
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {receiver.max_body:,} bytes")
            body = self.rfile.read(length)
            encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
            return receiver.handle(content_type, encoding, body)

        def _discard(self, length: int) -> None:
            if 0 < length <= receiver.max_body:
                self.rfile.read(length)
            elif length != 0:
                self.close_connection = True

        def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == HTTPStatus.SERVICE_UNAVAILABLE:
                self.send_header("Retry-After", str(RETRY_AFTER_SECONDS))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self._discard(int(self.headers.get("Content-Length") or 0))
            status = HTTPStatus.NOT_FOUND if self.path != "/v1/traces" else HTTPStatus.METHOD_NOT_ALLOWED
            self._send(status, JSON, _status_body(JSON, status, "POST OTLP traces to /v1/traces"))

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line per request would drown the collector's own output

    return Handler
