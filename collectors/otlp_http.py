"""The OTLP/HTTP trace receiver (FORMATS.md 1.7): protobuf and JSON bodies into span rows, durably."""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import duckdb
import orjson
import pyarrow as pa
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from collectors.live import Batch, LiveWriter, SourceStats, StoredNothing
from collectors.otlp_proto import ProtoSpans
from collectors.rows import RowBuffer, Where
from collectors.spool import REJECTS, Segment, SpoolFull, rejects_table
from queries.errors import StoreBusy
from queries.ingest import Reject, Table
from queries.policy import Policy

MAX_BODY = 64 * 1024 * 1024  # FORMATS.md 1.7: bound the decompressed body, 64 MiB recommended
PROTOBUF, JSON = "application/x-protobuf", "application/json"
RETRY_AFTER_SECONDS = 2
_REST = 2.0  # the importer rests this many times as long as its last unit of work took
_log = logging.getLogger("backroom.collect")


class Refused(Exception):
    """A request answered with an error status and a google.rpc.Status body."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class SpanIntake:
    """Acknowledges spans only once they are durable, and moves them into the store in batches.

    Each request's rows become a spool segment (written, fsynced, renamed) before its answer,
    so a crash loses nothing that was acknowledged. An importer thread takes this receiver's
    segments into the store as one unit of work at most every `interval` seconds (and at most
    `batch_spans` spans at a time), however many requests arrive; a slow or busy store delays
    storing, not answering.
    """

    def __init__(
        self, writer: LiveWriter, stats: SourceStats, *, batch_spans: int = 250_000,
        interval: float = 1.0, max_wait: float = 2.0,
    ) -> None:
        self.writer, self.stats = writer, stats
        self.batch_spans, self.interval, self.max_wait = batch_spans, interval, max_wait
        # Own segments not in the store yet, oldest first, with when each was acknowledged.
        self._journal: list[tuple[Segment, float]] = []
        self._spooled: set[str] = set()  # segments counted in stats.spooled_rows
        self._writing = 0  # offers making their rows durable right now
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="otlp-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, rows: list[tuple[Any, ...]], rejects: list[Reject]) -> bool:
        """Make rows and rejects durable; False (answer 503) when neither spool nor store takes them."""
        with self._cond:
            if self._closing:
                return False
            self._writing += 1
        try:
            return self._make_durable(rows, rejects)
        finally:
            with self._cond:
                self._writing -= 1
                if self._closing:
                    self._cond.notify_all()  # close() waits for offers under way

    def close(self) -> None:
        """Stop taking spans, then import every acknowledged one the store will take."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    def _make_durable(self, rows: list[tuple[Any, ...]], rejects: list[Reject]) -> bool:
        parts: list[tuple[str, pa.Table, int]] = []
        if rows:
            buffer = RowBuffer(Table.SPANS)
            buffer.rows = rows
            parts.append((Table.SPANS.value, buffer.take(None), len(rows)))
        if rejects:
            parts.append((REJECTS, rejects_table(rejects), 0))
        for number, (table, data, count) in enumerate(parts):
            try:
                path = self.writer.journal(table, data, self.stats, "otlp")
            except (SpoolFull, OSError) as exc:
                if not isinstance(exc, SpoolFull):
                    self._note(f"cannot write the spool: {exc}")
                return self._store_now({name for name, _, _ in parts[number:]}, rows, rejects)
            with self._cond:
                self._journal.append((Segment(path, table, count), time.monotonic()))
        return True

    def _store_now(self, tables: set[str], rows: list[Any], rejects: list[Reject]) -> bool:
        """The spool cannot take the request: store what is left of it in its own unit of work."""
        batch = Batch(self.stats.name, "otlp", Table.SPANS,
                      rows if Table.SPANS.value in tables else [], rejects if REJECTS in tables else [])
        try:
            self.writer.write(batch, self.stats, may_spool=False)
        except StoredNothing:
            return False
        except (duckdb.Error, OSError) as exc:
            self._note(f"cannot store spans: {exc}")
            return False
        return True

    def _note(self, error: str) -> None:
        if error != self.stats.error:  # once, not once a request
            _log.warning("otlp-http: %s", error)
        self.stats.error = error

    def _run(self) -> None:
        took, stored = 0.0, True
        while True:
            with self._cond:
                due = self._next_due(took, stored)
                while not self._closing and (left := due - time.monotonic()) > 0:
                    self._cond.wait(left)
                closing = self._closing
                while closing and self._writing:
                    self._cond.wait()
                taken = self._next_batch(everything=closing)
            started = time.monotonic()
            stored = not taken or self._import(taken)
            took = time.monotonic() - started
            if closing and (not stored or not self._journal):
                self._let_go()
                return

    def _next_due(self, took: float, stored: bool) -> float:
        """When to import next: twice the last unit's time on, yet `max_wait` after the oldest span."""
        # Resting twice as long as the last unit of work took keeps the store free two thirds of
        # the time for the console, and at high rates lets batches grow, spreading each commit's
        # fixed cost (the checkpoint) over more spans. The bound on a span's wait keeps a slow
        # store from falling ever further behind; after a failed import the rest is a back-off.
        now = time.monotonic()
        due = now + max(self.interval, _REST * took)
        if stored:
            oldest = self._journal[0][1] if self._journal else now
            due = min(due, oldest + max(self.max_wait, self.interval))
        return due

    def _next_batch(self, everything: bool) -> list[Segment]:
        """The oldest segments, at most `batch_spans` rows of them unless closing."""
        taken: list[Segment] = []
        rows = 0
        for segment, _ in self._journal:
            if rows + segment.rows > self.batch_spans and taken and not everything:
                break
            taken.append(segment)
            rows += segment.rows
        return taken

    def _import(self, taken: list[Segment]) -> bool:
        """One unit of work with these segments; False leaves them in the spool for later."""
        try:
            self.writer.store_journal(taken, self.stats, "otlp")
        except (StoreBusy, duckdb.Error, OSError, pa.ArrowException) as exc:
            if not isinstance(exc, StoreBusy):
                self._note(f"importing spooled spans: {exc}")
            self._count_spooled(taken)
            return False
        with self._cond:
            del self._journal[:len(taken)]  # only appended to meanwhile
            for segment in taken:
                if segment.path.name in self._spooled:
                    self._spooled.discard(segment.path.name)
                    self.stats.spooled_rows -= segment.rows
        return True

    def _count_spooled(self, taken: list[Segment]) -> None:
        with self._cond:
            for segment in taken:
                if segment.path.name not in self._spooled:
                    self._spooled.add(segment.path.name)
                    self.stats.spooled_rows += segment.rows

    def _let_go(self) -> None:
        """At shutdown: what the store did not take stays spooled, for the next writer to import."""
        with self._cond:
            left = [segment for segment, _ in self._journal]
        self._count_spooled(left)
        self.writer.release([segment.path.name for segment in left])


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
        """Stop answering, then import every acknowledged span the store will take."""
        self.server.shutdown()
        self.server.server_close()
        self.intake.close()

    def handle(self, content_type: str, encoding: str, body: bytes) -> tuple[HTTPStatus, bytes]:
        """Decode, make durable and answer one export request."""
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
        # Acknowledged only now: the rows are in a fsynced spool segment or in the store.
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

        def do_POST(self) -> None:
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

        def do_GET(self) -> None:
            self._discard(int(self.headers.get("Content-Length") or 0))
            status = HTTPStatus.NOT_FOUND if self.path != "/v1/traces" else HTTPStatus.METHOD_NOT_ALLOWED
            self._send(status, JSON, _status_body(JSON, status, "POST OTLP traces to /v1/traces"))

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would drown the collector's own output

    return Handler
