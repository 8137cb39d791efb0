"""The fts index over dead-letter text, rebuilt by the writer (the index is static, SCALE.md 3.3)."""

from __future__ import annotations

from queries.sqlfiles import sql
from queries.store import Store


def rebuild(store: Store) -> int:
    """Refill search_docs and rebuild its BM25 index; returns how many documents it holds."""
    store.load_extension("fts")
    with store.writing() as cursor:
        cursor.execute(sql("search_docs_rebuild"))
    with store.writing(transaction=False) as cursor:
        # keep digits (ids, status codes) and every word: this is technical text, not prose
        cursor.execute("PRAGMA create_fts_index('search_docs', 'doc_id', 'text', overwrite = 1, "
                       "stopwords = 'none', ignore = '(\\.|[^a-z0-9])+')")
        row = cursor.execute("SELECT count(*) FROM search_docs").fetchone()
    return int(row[0]) if row else 0


def has_index(cursor: object) -> bool:
    """Whether the store has an fts index to search (older stores may not, until the next ingest)."""
    found = cursor.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM duckdb_schemas() "
        "WHERE database_name = current_database() AND schema_name = 'fts_main_search_docs'").fetchone()
    return bool(found and found[0])
