"""The quarantine: input records that could not be stored, with their file, line and reason."""

from __future__ import annotations

from datetime import datetime

import duckdb
from pydantic import BaseModel

from queries.sqlfiles import sql

PAGE = 200


class Rejected(BaseModel):
    source: str
    line: int | None
    byte_offset: int | None
    reason: str
    excerpt: str | None
    rejected_at: datetime
    ingest_id: int | None


class RejectPage(BaseModel):
    rejects: list[Rejected]
    total: int  # every reject the filter matches, on this page or not
    offset: int


def quarantined(cursor: duckdb.DuckDBPyConnection, since: datetime | None = None,
                source: str | None = None, reason: str | None = None,
                offset: int = 0, limit: int = PAGE) -> RejectPage:
    """Rejects newest first; `source` and `reason` match any part of the text, in any case."""
    cursor.execute(sql("rejects_list"), {"since": since, "source": source, "reason": reason,
                                         "offset": offset, "limit": limit})
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    total = int(rows[0].pop("total")) if rows else _count(cursor, since, source, reason)
    for row in rows:
        row.pop("total", None)
    return RejectPage(rejects=[Rejected(**row) for row in rows], total=total, offset=offset)


def _count(cursor: duckdb.DuckDBPyConnection, since: datetime | None, source: str | None,
           reason: str | None) -> int:
    """The total when the page is empty (a page past the end still says how many there are)."""
    cursor.execute(sql("rejects_list"), {"since": since, "source": source, "reason": reason,
                                         "offset": 0, "limit": 1})
    row = cursor.fetchone()
    return int(row[-1]) if row else 0
