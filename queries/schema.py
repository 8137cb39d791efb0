"""The schema's version and its forward migrations (`sql/migrations/NNN_name.sql`, applied in order)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from queries.errors import StoreIncompatible

_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("queries") / "sql" / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match[1]), entry.read_text(encoding="utf-8")))
    return sorted(found)


MIGRATIONS = _migrations()
LATEST = MIGRATIONS[-1][0]


def version_of(cursor: duckdb.DuckDBPyConnection) -> int:
    """The schema version of the attached store; 0 for an empty file."""
    has_table = cursor.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = current_database() AND table_name = 'schema_version'"
    ).fetchone()
    if not has_table or not has_table[0]:
        return 0
    row = cursor.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def refuse_newer(version: int, path: Path) -> None:
    if version > LATEST:
        raise StoreIncompatible(
            f"store {path} has schema version {version}, newer than this backroom knows ({LATEST}): "
            "upgrade backroom"
        )


def migrate(cursor: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the store's version, each in its own transaction."""
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
    )
    current = version_of(cursor)
    refuse_newer(current, Path(cursor.execute("SELECT current_database()").fetchone()[0]))  # type: ignore[index]
    for version, sql in MIGRATIONS:
        if version <= current:
            continue
        cursor.execute("BEGIN TRANSACTION")
        cursor.execute(sql)
        cursor.execute(
            "INSERT INTO schema_version VALUES ($version, $at)",
            {"version": version, "at": datetime.now(UTC)},
        )
        cursor.execute("COMMIT")
        current = version
    return current
