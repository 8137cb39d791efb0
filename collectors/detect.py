"""Tell a file's format from its content (never its name), and read its JSON records."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import orjson

from collectors.rows import Where
from collectors.text import json_error
from queries.errors import BackroomError

OTLP = "otlp"
JAEGER = "jaeger"
EVENTS = "events"
RABBITMQ_DLQ = "rabbitmq-dlq"
KAFKA_DLQ = "kafka-dlq"
SQS_DLQ = "sqs-dlq"
FORMATS = (OTLP, JAEGER, EVENTS, RABBITMQ_DLQ, KAFKA_DLQ, SQS_DLQ)

_BOM = b"\xef\xbb\xbf"
_HEAD_LINES = 50
# For documents that do not fit on one line: the marker key that appears first decides.
_MARKERS = re.compile(
    rb'"(?P<otlp>resourceSpans|batches|scopeSpans|instrumentationLibrarySpans)"\s*:'
    rb'|"(?P<jaeger>traceID|spanID|operationName)"\s*:'
    rb'|"(?P<events>specversion)"\s*:'
    rb'|"(?P<dlq>payload_encoding|payload_bytes|x-death|message_count|routing_key)"\s*:'
    rb'|"(?P<kafka>tstype)"\s*:|(?P<connect>"__connect\.errors\.topic")\s*,'
    rb'|"(?P<sqs>Messages|MessageId|ReceiptHandle|MD5OfBody)"\s*:'
)
_MARKER_FORMATS = {
    "otlp": OTLP, "jaeger": JAEGER, "events": EVENTS, "dlq": RABBITMQ_DLQ, "kafka": KAFKA_DLQ,
    "connect": KAFKA_DLQ, "sqs": SQS_DLQ,
}
_OTHER_SIGNALS = (b'"resourceLogs"', b'"resourceMetrics"', b'"resourceProfiles"')
EXPECTED = (
    "expected OTLP JSON traces (resourceSpans), Jaeger JSON (data, traceID, spans), "
    "CloudEvents JSON (specversion), a RabbitMQ management-API /get dump (payload, "
    "properties), kcat -J Kafka records (topic, partition, offset) "
    "or aws sqs receive-message output (Messages)"
)


class SourceUnreadable(BackroomError):
    """A path given to ingest cannot be read at all (missing, a permission, an I/O error)."""


class Undetected(ValueError):
    """The content matches none of the formats; the message says what was seen."""


def format_of_value(value: Any) -> str | None:
    """The format one parsed JSON value belongs to, or None when it does not say."""
    if isinstance(value, list):
        first = next((item for item in value if isinstance(item, dict)), None)
        if first is None:
            return None
        kind = format_of_value(first)
        return kind if kind in _BATCHABLE else None
    if not isinstance(value, dict):
        return None
    if "resourceSpans" in value or "batches" in value:
        return OTLP
    if "specversion" in value:
        return EVENTS
    return _jaeger_or_dlq(value)


def _jaeger_or_dlq(value: dict[str, Any]) -> str | None:
    """Jaeger traces, or which broker's dead letters an object holds, by its keys."""
    data = value.get("data")
    trace = next((item for item in data if isinstance(item, dict)), None) \
        if isinstance(data, list) else value
    if isinstance(trace, dict) and "spans" in trace and ("traceID" in trace or "processes" in trace):
        return JAEGER
    if isinstance(value.get("Messages"), list) or ("MessageId" in value and "Body" in value):
        return SQS_DLQ
    if "topic" in value and "partition" in value and "offset" in value:
        return KAFKA_DLQ
    if isinstance(value.get("messages"), list) or "payload_encoding" in value:
        return RABBITMQ_DLQ
    if "payload" in value and "properties" in value:
        return RABBITMQ_DLQ
    return None


# Formats whose records may also come as a JSON array of them.
_BATCHABLE = (JAEGER, EVENTS, RABBITMQ_DLQ, KAFKA_DLQ, SQS_DLQ)


def _format_of_lines(head: bytes) -> str | None:
    """The first line in the head that parses and says what it is decides."""
    for line in head.splitlines()[:_HEAD_LINES]:
        stripped = line.strip().removeprefix(_BOM).strip()
        if not stripped:
            continue
        try:
            kind = format_of_value(orjson.loads(stripped))
        except orjson.JSONDecodeError:
            continue
        if kind is not None:
            return kind
    return None


def _format_of_markers(head: bytes) -> str | None:
    match = _MARKERS.search(head)
    if match is None:
        return None
    return _MARKER_FORMATS[match.lastgroup or ""]


def _wide(head: bytes) -> bool:
    """Text in UTF-16 or UTF-32: a byte order mark, or JSON's first character beside NUL bytes."""
    first = head[:4]
    return head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or (
        b"\x00" in first and first.replace(b"\x00", b"")[:1] in (b"{", b"["))


def _looks_binary(head: bytes) -> bool:
    sample = head[:4096]
    if not sample:
        return False
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return controls * 10 > len(sample)


def detect(head: bytes) -> str:
    """The format of a file from its first bytes; raises Undetected with an actionable reason."""
    text = head.removeprefix(_BOM).lstrip()
    if _wide(text):
        raise Undetected(
            "UTF-16 or UTF-32 text (PowerShell's '>' writes UTF-16): backroom reads JSON as "
            "UTF-8; convert it first, e.g. iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8"
        )
    if _looks_binary(text):
        raise Undetected(
            "binary content: not a JSON format backroom reads "
            "(OTLP protobuf and zstd-compressed exports are not supported; use format: json)"
        )
    kind = _format_of_lines(text) or _format_of_markers(text)
    if kind is not None:
        return kind
    if any(signal in text for signal in _OTHER_SIGNALS):
        raise Undetected("OTLP logs or metrics, not traces: backroom reads OTLP traces only")
    if not text.startswith((b"{", b"[")):
        raise Undetected(f"not JSON: {EXPECTED}")
    raise Undetected(f"format not recognised: {EXPECTED}")


def unreadable(path: Path, exc: OSError) -> SourceUnreadable:
    """The one-line error for a path that cannot be read."""
    cause = exc.strerror or type(exc).__name__
    return SourceUnreadable(f"cannot read {path}: {cause.lower()}")


HEAD_BYTES = 64 * 1024
MAX_LINE_BYTES = 64 * 1024 * 1024  # OTLP/HTTP's recommended body limit; longer lines are rejected
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, transparently decompressed when it is gzip (by magic number, not name)."""
    handle = path.open("rb")
    if handle.peek(2)[:2] == GZIP_MAGIC:
        handle.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return handle


def is_gzip(path: Path) -> bool:
    """Whether the file is gzip (by magic number), which can only be read from its start."""
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


# Unpacking a gzip file stops when the disk would keep less than this free beyond as much again
# as the content unpacked so far (room for the store to grow by it).
UNPACK_RESERVE = 1024 * 1024 * 1024
_UNPACK_CHUNK = 8 * 1024 * 1024


def unpacked(path: Path, folder: Path) -> Path | None:
    """A gzip file's content in a hidden temporary file in `folder`, for DuckDB's own readers
    (the caller removes it); None when the stream is corrupt or the disk would run short (the
    Python path reads the gzip file itself then, as before)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".backroom-unpacked-", suffix=".jsonl", dir=folder)
    except OSError:
        return None
    target, whole, written = Path(name), False, 0
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as source:
            while chunk := source.read(_UNPACK_CHUNK):
                out.write(chunk)
                written += len(chunk)
                if shutil.disk_usage(folder).free < UNPACK_RESERVE + written:
                    return None
        whole = True
        return target
    except (OSError, EOFError, zlib.error):  # gzip.BadGzipFile is an OSError
        return None
    finally:
        if not whole:
            target.unlink(missing_ok=True)


def identity_of(path: Path) -> str:
    """What makes this file the same content again: its size and the SHA-256 of all its bytes."""
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        size = handle.tell()
    return f"{size}:sha256:{digest}"


def read_head(path: Path) -> bytes:
    """The first bytes of the (decompressed) content, enough to tell its format and layout."""
    with open_binary(path) as handle:
        try:
            return handle.read(HEAD_BYTES)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise Undetected(f"corrupt gzip stream: {exc}") from None


def is_document(head: bytes) -> bool:
    """Whether the content is one JSON document over several lines rather than one value per line.

    JSON Lines is the default. A file is read as one document only when its first line is
    complete, fails to parse alone, and is a lone `{` or `[` or ends inside a structure with
    the next line indented or closing one, as pretty-printed JSON is; a JSON Lines file whose
    first line is cut short still goes line by line, so its other lines are not lost.
    """
    lines = [line for line in head.splitlines(keepends=True) if line.strip()][:2]
    if not lines or not lines[0].endswith(b"\n"):
        return False  # empty, or a first line longer than the head: not pretty-printed
    first = lines[0].strip().removeprefix(_BOM).strip()
    try:
        orjson.loads(first)
        return False
    except orjson.JSONDecodeError:
        pass
    if first in (b"{", b"["):
        return True
    if first[-1:] not in (b"{", b"[", b",", b":"):
        return False
    return len(lines) == 1 or lines[1][:1] in (b" ", b"\t", b'"', b"}", b"]")


class Failed(NamedTuple):
    """A record that could not even be parsed as JSON."""

    reason: str


def line_error(data: bytes) -> str:
    """Why a line is not a JSON value, in the words every collector uses for its reject."""
    try:  # parse again without the line end, so that the column orjson names is on this line
        orjson.loads(data.rstrip())
        reason = "invalid JSON"
    except orjson.JSONDecodeError as exc:
        reason = json_error(exc)
    if b"\x00" in data:
        reason = f"contains NUL bytes; {reason}"
    if not data.endswith(b"\n"):
        reason = f"truncated last line? {reason}"
    return reason


class Records:
    """The JSON values of a file, one per line or one whole document, with where each came from."""

    def __init__(
        self, handle: BinaryIO, *, document: bool, offset: int = 0, line: int = 0,
        max_line: int = MAX_LINE_BYTES, decode: Callable[[bytes], Any] = orjson.loads,
    ) -> None:
        self.handle, self.document, self.max_line = handle, document, max_line
        self.decode = decode  # a line's text as a value (the parser's `decode`)
        self.offset = offset  # bytes consumed so far
        self.line = line  # lines consumed so far

    def __iter__(self) -> Iterator[tuple[Any, Where]]:
        return self._document() if self.document else self._lines()

    def _lines(self) -> Iterator[tuple[Any, Where]]:
        try:
            yield from self._parsed_lines()
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            # A truncated or corrupt .gz: everything before this point is kept.
            where = Where(self.line + 1, self.offset, b"")
            yield Failed(f"corrupt gzip stream after this point: {exc}"), where

    def _parsed_lines(self) -> Iterator[tuple[Any, Where]]:
        readline, limit, loads = self.handle.readline, self.max_line + 1, self.decode
        while data := readline(limit):
            start = self.offset
            self.offset += len(data)
            self.line += 1
            if len(data) == limit and not data.endswith(b"\n"):
                self.offset += self._skip_rest_of_line()
                reason = f"line longer than {self.max_line:,} bytes"
                yield Failed(reason), Where(self.line, start, data[:1024])
                continue
            if data.startswith(_BOM):
                data = data[3:]
            try:
                value = loads(data)
            except orjson.JSONDecodeError:
                if data.strip():
                    yield Failed(line_error(data)), Where(self.line, start, data)
                continue
            yield value, Where(self.line, start, data)

    def _skip_rest_of_line(self) -> int:
        skipped = 0
        while chunk := self.handle.readline(1024 * 1024):
            skipped += len(chunk)
            if chunk.endswith(b"\n"):
                break
        return skipped

    def _document(self) -> Iterator[tuple[Any, Where]]:
        content = self.handle.read(MAX_DOCUMENT_BYTES + 1)
        self.offset += len(content)
        self.line += content.count(b"\n") + (0 if content.endswith(b"\n") else 1)
        where = Where(1, 0, content)
        if len(content) > MAX_DOCUMENT_BYTES:
            yield Failed(f"document larger than {MAX_DOCUMENT_BYTES:,} bytes"), where
            return
        try:
            value = orjson.loads(content.removeprefix(_BOM))
        except orjson.JSONDecodeError as exc:
            yield Failed(f"invalid JSON document: {exc}"), where
            return
        yield value, where
