"""Search orders by id, #name, email, trace id, message id, SKU or store; ranked and paged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from queries import search_index
from queries.journey import key_params
from queries.sqlfiles import sql

ALL_KEYS = 8
PAGE = 50


# Dataclasses, as every result on the report commands' path (queries/policy.py says why).
@dataclass(slots=True)
class OrderHit:
    order_id: str
    matched: str
    order_name: str | None
    channel: str | None
    state: str | None
    state_at: datetime | None
    store_id: str | None
    last_at: datetime | None


@dataclass(slots=True)
class TextHit:
    """A dead letter whose body or error text matched the words searched for."""

    dlq_id: str
    order_id: str | None
    score: float


@dataclass(slots=True)
class SearchPage:
    query: str
    total: int
    offset: int
    orders: list[OrderHit]
    dead_letters: list[TextHit] = field(default_factory=list)


def search(cursor: duckdb.DuckDBPyConnection, text: str, offset: int = 0, limit: int = PAGE) -> SearchPage:
    """Orders the text names, exact identifiers first, then SKUs and stores, newest first."""
    params = {**key_params(text, max_how=ALL_KEYS), "limit": limit, "offset": offset}
    cursor.execute(sql("search"), params)
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    total = rows[0].pop("total") if rows else 0
    for row in rows[1:]:
        row.pop("total")
    found = SearchPage(query=text, total=total, offset=offset, orders=[OrderHit(**row) for row in rows])
    if not found.orders and offset == 0:
        found.dead_letters = text_hits(cursor, text, limit)
    return found


def text_hits(cursor: duckdb.DuckDBPyConnection, text: str, limit: int = PAGE) -> list[TextHit]:
    """Dead letters whose text matches, through the fts index (none when there is no index yet)."""
    if not search_index.has_index(cursor):
        return []
    cursor.execute("LOAD fts")
    cursor.execute(sql("search_text"), {"text": text, "limit": limit})
    return [TextHit(dlq_id=r[0], order_id=r[1], score=r[2]) for r in cursor.fetchall()]
