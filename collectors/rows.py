"""Canonical row tuples, their Arrow types, and the value coercions every format shares."""

from __future__ import annotations

import abc
import contextlib
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import orjson
import pyarrow as pa

from collectors.text import escape, excerpt
from queries.ingest import Reject, Table

TIMESTAMP = pa.timestamp("us", tz="UTC")
JSON = pa.json_(pa.string())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# TIMESTAMPTZ and Python datetimes both stop at the years 1 and 9999.
_MIN_US = -62_135_596_800_000_000
_MAX_US = 253_402_300_799_999_999
_INT32 = (-(2**31), 2**31 - 1)
_CENT = Decimal("0.01")
_AMOUNT_LIMIT = Decimal(10) ** 16  # DECIMAL(18, 2) holds 16 integer digits


class SpanRow(NamedTuple):
    trace_id: str
    span_id: str
    parent_span_id: str | None
    service: str | None
    name: str | None
    kind: int | None
    start_time: int | None  # microseconds since the epoch, like every time column here
    end_time: int | None
    duration_ms: float | None
    status_code: int | None
    status_message: str | None
    scope: str | None
    attributes: bytes  # JSON text, UTF-8
    resource: bytes  # JSON text, UTF-8
    span_events: bytes  # JSON text, UTF-8
    links: bytes  # JSON text, UTF-8
    order_id: str | None
    message_id: str | None


class EventRow(NamedTuple):
    event_id: str
    source: str
    type: str
    state: str | None
    system: str | None
    channel: str | None
    order_id: str | None
    order_name: str | None
    customer_email: str | None
    store_id: str | None
    sku: str | None
    quantity: int | None
    amount: Decimal | None
    currency: str | None
    movement_id: str | None
    movement_kind: str | None
    applied_system: str | None
    occurred_at: datetime | None
    recorded_at: datetime | None
    trace_id: str | None
    parent_span_id: str | None
    traceparent: str | None
    traceparent_valid: bool | None
    payload: bytes  # JSON text, UTF-8


class DlqRow(NamedTuple):
    id: str
    broker: str
    queue: str
    vhost: str | None
    original_exchange: str | None
    original_routing_key: str | None
    original_queue: str | None
    reason: str | None
    death_count: int | None
    first_death_at: int | None
    last_death_at: int | None
    message_id: str | None
    content_type: str | None
    properties: bytes  # JSON text, UTF-8
    headers: bytes  # JSON text, UTF-8
    body: bytes
    body_sha256: str
    error_text: str | None
    order_id: str | None
    trace_id: str | None
    fingerprint: str
    status: str
    history: bytes  # JSON text, UTF-8
    seen_at: int


# Arrow types per column, matching 001_initial.sql; JSON columns travel as Arrow's JSON extension
# type, which DuckDB takes as its JSON type without parsing every value again to check it.
_TYPES: dict[str, pa.DataType] = {
    "kind": pa.uint8(), "status_code": pa.uint8(), "duration_ms": pa.float64(),
    "start_time": TIMESTAMP, "end_time": TIMESTAMP, "occurred_at": TIMESTAMP,
    "recorded_at": TIMESTAMP, "first_death_at": TIMESTAMP, "last_death_at": TIMESTAMP,
    "seen_at": TIMESTAMP, "quantity": pa.int32(), "death_count": pa.int32(),
    "amount": pa.decimal128(18, 2), "traceparent_valid": pa.bool_(), "body": pa.binary(),
}
# JSON columns arrive as UTF-8 bytes that orjson wrote or validated; they become strings unchecked.
JSON_COLUMNS = frozenset(
    ("attributes", "resource", "span_events", "links", "payload", "properties", "headers",
     "history")
)
ROW_FIELDS: dict[Table, tuple[str, ...]] = {
    Table.SPANS: SpanRow._fields, Table.EVENTS: EventRow._fields,
    Table.DLQ_MESSAGES: DlqRow._fields,
}


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of one canonical table's rows, plus the ingest_id column."""
    fields = [(name, JSON if name in JSON_COLUMNS else _TYPES.get(name, pa.string()))
              for name in ROW_FIELDS[table]]
    return pa.schema([*fields, ("ingest_id", pa.int64())])


class RowBuffer:
    """Rows of one canonical table gathered as tuples, made into a typed Arrow table per batch."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.schema = arrow_schema(table)
        self.rows: list[tuple[Any, ...]] = []

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, ingest_id: int | None) -> pa.Table:
        """Everything gathered so far as an Arrow table; the buffer is empty afterwards."""
        rows, self.rows = self.rows, []
        width = len(self.schema) - 1
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * width
        names = self.schema.names
        arrays = [
            _json_array(column) if names[i] in JSON_COLUMNS
            else pa.array(column, self.schema.field(i).type)
            for i, column in enumerate(columns)
        ]
        arrays.append(pa.array([ingest_id] * len(rows), type=pa.int64()))
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _json_array(column: Sequence[bytes]) -> pa.Array | pa.ChunkedArray:
    """JSON text given as UTF-8 bytes as an Arrow JSON column."""
    # Valid UTF-8 and valid JSON already (orjson wrote or checked it), so skip Arrow's second
    # UTF-8 pass and, by the JSON type, DuckDB's JSON parse of every value (a tenth of a batch's
    # insert into `spans`).
    raw = pa.array(column, type=pa.binary())
    chunks = raw.chunks if isinstance(raw, pa.ChunkedArray) else [raw]  # past 2 GiB pyarrow splits
    strings = [
        pa.ExtensionArray.from_storage(JSON, pa.StringArray.from_buffers(
            len(chunk), chunk.buffers()[1], chunk.buffers()[2], chunk.buffers()[0],
            offset=chunk.offset))
        for chunk in chunks
    ]
    return strings[0] if len(strings) == 1 else pa.chunked_array(strings, JSON)


def micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware or naive (taken as UTC) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _ONE_US


def micros_from_nanos(value: Any) -> int | None:
    """OTLP fixed64 nanoseconds (string or number) as microseconds; 0, junk, overflow -> None."""
    if isinstance(value, str):
        if not value.isdecimal() or len(value) > 20:
            return None
        value = int(value)
    elif isinstance(value, float) and math.isfinite(value):
        value = int(value)
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    if value <= 0:
        return None
    result = value // 1000
    return result if result <= _MAX_US else None


def micros_from_seconds(value: Any) -> int | None:
    """Epoch seconds (number or numeric string, as AMQP timestamps arrive) as microseconds."""
    if isinstance(value, str):
        try:
            value = float(value) if value.strip() else None
        except ValueError:
            parsed = time_from_rfc3339(value)
            return micros(parsed) if parsed is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if not _MIN_US <= value * 1_000_000 <= _MAX_US:  # float products may be inf: compare first
        return None
    return round(value * 1_000_000) if isinstance(value, float) else value * 1_000_000


def time_from_rfc3339(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (any fraction, 'Z' or offset, naive = UTC) as a datetime, else None."""
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _with_micro_fraction(value)
    # Years 1 and 9999 with an offset would leave TIMESTAMPTZ's range once moved to UTC.
    return parsed if parsed is not None and 1 < parsed.year < 9999 else None


def _with_micro_fraction(value: str) -> datetime | None:
    """Python 3.11 reads at most 6 fraction digits: cut nanoseconds down to microseconds."""
    text = value.strip()
    dot = text.find(".", 19)
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        text = text[: dot + 7] + text[end:]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def iso_from_micros(value: int | None) -> str | None:
    """Microseconds since the epoch as an RFC 3339 UTC string (for times inside JSON columns)."""
    if value is None:
        return None
    return (_EPOCH + timedelta(microseconds=value)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def text(value: Any) -> str | None:
    """A correlation-style string: non-empty strings as they are, integers as digits, else None."""
    if type(value) is str:
        return value if value and not value.isspace() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def int32(value: Any) -> int | None:
    """An INTEGER value from a number or numeric string; fractions, junk and overflow -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if len(value) > 40:
            return None
        try:
            value = int(value)  # takes blanks and one sign; refuses fractions and junk
        except ValueError:
            return None
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and _INT32[0] <= value <= _INT32[1]:
        return value
    return None


def amount(value: Any) -> Decimal | None:
    """A DECIMAL(18, 2) value from a number or numeric string (Shopify sends '19.99'); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > 40:
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) >= _AMOUNT_LIMIT:
        return None
    return number.quantize(_CENT)


class BadRecord(ValueError):
    """A record that cannot become a canonical row; its message is the reject reason."""


# What building one row may raise on hostile input; each is caught per record and quarantined.
RECORD_ERRORS = (
    BadRecord, TypeError, ValueError, AttributeError, KeyError, ArithmeticError, RecursionError,
)


def reason_of(exc: BaseException) -> str:
    """The reject reason for an exception raised while building one record's row."""
    if isinstance(exc, BadRecord):
        return str(exc)
    if isinstance(exc, orjson.JSONEncodeError):
        return f"cannot store as JSON: {exc}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"malformed record ({type(exc).__name__}: {escape(str(exc))[:120]})"


class Where(NamedTuple):
    """Where a record came from: 1-based line, byte offset of that line, and the record's bytes."""

    line: int
    offset: int
    raw: bytes


class Parser(abc.ABC):
    """Base of the per-file format parsers: gathers rows into a buffer and builds rejects."""

    table: Table
    # How a line's text becomes the value `feed` takes (`detect.Records` calls it; it raises
    # orjson.JSONDecodeError for a line that is not JSON).
    decode: Callable[[bytes], Any] = staticmethod(orjson.loads)

    def __init__(self, source: str) -> None:
        self.source = source
        self.buffer = RowBuffer(self.table)

    @abc.abstractmethod
    def feed(self, value: Any, where: Where) -> list[Reject]:
        """Add the canonical rows of one parsed JSON value; return the records it had to reject."""

    def reject(self, where: Where, reason: str, record: Any = None) -> Reject:
        """A reject at `where`, its excerpt from `record` (re-serialised) or else the raw line."""
        raw: bytes | str = where.raw
        if record is not None:
            with contextlib.suppress(TypeError):  # orjson.JSONEncodeError is a TypeError
                raw = orjson.dumps(record)
        return Reject(self.source, where.line, reason, excerpt(raw), where.offset)
