"""Dead letters: failure groups, filtered pages, and one message whole with its body decoded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import orjson
from pydantic import BaseModel

from queries.sqlfiles import sql

PAGE = 200
HEX_PREVIEW_BYTES = 512


class FailureGroup(BaseModel):
    group: str | None
    reason: str | None
    original_queue: str | None
    queue: str
    count: int
    orders: int
    first_seen: datetime | None
    last_seen: datetime | None
    sample_error: str | None


class DeadLetterRow(BaseModel):
    id: str
    queue: str
    reason: str | None
    count: int | None
    order_id: str | None
    status: str
    group: str | None
    error_text: str | None
    message_id: str | None
    original_queue: str | None
    first_death_at: datetime | None
    last_death_at: datetime | None


class DeadLetterPage(BaseModel):
    total: int
    offset: int
    messages: list[DeadLetterRow]


class BodyView(BaseModel):
    """How a body is shown: pretty JSON, text, or a hex preview of binary."""

    kind: str  # json, text or binary
    text: str
    size: int


class DeadLetter(BaseModel):
    id: str
    broker: str
    queue: str
    vhost: str | None
    original_exchange: str | None
    original_routing_key: str | None
    original_queue: str | None
    reason: str | None
    count: int | None
    first_death_at: datetime | None
    last_death_at: datetime | None
    message_id: str | None
    content_type: str | None
    properties: Any
    headers: Any
    body: BodyView
    body_sha256: str | None
    error_text: str | None
    order_id: str | None
    trace_id: str | None
    group: str | None
    status: str
    history: Any
    seen_at: datetime | None


def _rows(cursor: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor.execute(sql(name), params)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def groups(cursor: duckdb.DuckDBPyConnection, statuses: list[str] | None = None,
           limit: int = 500) -> list[FailureGroup]:
    """Failure groups, largest first; by default the messages still dead."""
    rows = _rows(cursor, "dlq_groups", {"statuses": statuses or ["dead"], "limit": limit})
    return [FailureGroup(**row) for row in rows]


def page(
    cursor: duckdb.DuckDBPyConnection, *, statuses: list[str] | None = None, group: str | None = None,
    queue: str | None = None, order_id: str | None = None, offset: int = 0, limit: int = PAGE,
) -> DeadLetterPage:
    """One page of dead letters matching the filters, with the total they match."""
    filters = {"statuses": statuses, "group": group, "queue": queue, "order_id": order_id}
    total = cursor.execute(sql("dlq_count"), filters).fetchone()
    rows = _rows(cursor, "dlq_list", {**filters, "limit": limit, "offset": offset})
    return DeadLetterPage(total=int(total[0]) if total else 0, offset=offset,
                          messages=[DeadLetterRow(**row) for row in rows])


def show(cursor: duckdb.DuckDBPyConnection, key: str) -> DeadLetter | None:
    """One dead letter by its id or message id (the id wins when both match)."""
    rows = _rows(cursor, "dlq_show", {"key": key})
    if not rows:
        return None
    row = rows[0]
    for field in ("properties", "headers", "history"):
        row[field] = orjson.loads(row[field]) if row[field] else None
    row["body"] = body_view(bytes(row["body"] or b""), row["content_type"])
    return DeadLetter(**row)


def body_view(body: bytes, content_type: str | None = None) -> BodyView:
    """JSON pretty-printed when it parses, UTF-8 text as is, otherwise a hex preview."""
    try:
        parsed = orjson.loads(body)
        if isinstance(parsed, (dict, list)):
            return BodyView(kind="json", text=orjson.dumps(parsed, option=orjson.OPT_INDENT_2).decode(),
                            size=len(body))
    except orjson.JSONDecodeError:
        pass
    try:
        return BodyView(kind="text", text=body.decode("utf-8"), size=len(body))
    except UnicodeDecodeError:
        return BodyView(kind="binary", text=_hex_preview(body[:HEX_PREVIEW_BYTES]), size=len(body))


def _hex_preview(chunk: bytes) -> str:
    lines = []
    for start in range(0, len(chunk), 16):
        row = chunk[start:start + 16]
        printable = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{start:08x}  {row.hex(' '):<47}  {printable}")
    return "\n".join(lines)
