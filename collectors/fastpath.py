"""The DuckDB-native fast path for CloudEvents JSON Lines, with a line-by-line Python fallback.

DuckDB reads the file's raw lines (with their line numbers), parses each once and computes
every canonical `events` column in SQL (collectors/sql/events_fast.sql), exactly as
`collectors.cloudevents.EventsParser` does. A line that SQL cannot take with certainty
(invalid or lax JSON, a batch array, `data_base64`, an unusual type or timestamp shape,
a blank line) is handed back by number and goes through the Python parser, so its rows,
rejects (file, line, reason) and counts are what the Python path would give.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import orjson

from collectors import detect
from collectors.cloudevents import REQUIRED
from collectors.detect import Records
from collectors.rows import Where, split_paths
from queries.policy import Policy

_CHUNK = 8 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# The JSON members the SQL reads; each arrives as its JSON text, so types can be checked.
_TOP = (*REQUIRED, "time", "recordedtime", "traceparent", "channel", "data_base64")
_DATA = ("order_name", "customer_email", "store_id", "sku", "quantity", "amount", "currency",
         "movement_id", "kind", "system")


def _sql(name: str) -> str:
    return (resources.files("collectors") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Plan:
    """The SQL of the fast path for one policy."""

    sql: str
    macros: str


def plan_for(policy: Policy) -> Plan | None:
    """The fast path's SQL for this policy, or None when its correlation paths need Python."""
    pairs = split_paths(policy.correlation.order_id, ("data",), top_level=True)
    top, data = list(_TOP), list(_DATA)
    terms = []
    for source, key in pairs:
        # Dotted keys mean "literal key first, then nesting" (rows.lookup): Python's job.
        if "." in key or not key or (source == "" and key == "data"):
            return None
        holder = "e" if source == "" else "e.data"
        names = top if source == "" else data
        if key not in names:
            names.append(key)
        terms.append(f"{holder}.{_ident(key)}")
    structure = {name: "JSON" for name in top}
    structure["data"] = {name: "JSON" for name in data}
    order_id = ("coalesce(" + ", ".join(f"fastpath_text({t})" for t in terms) + ")"
                if terms else "NULL")
    order_ok = " AND ".join(f"fastpath_is_str({t})" for t in terms) or "true"
    states = " ".join(
        f"WHEN {_literal(event_type)} THEN {_literal(state)}"
        for event_type, state in policy.states.items()
    ) or "WHEN NULL THEN NULL"
    sql = (_sql("events_fast")
           .replace("/*STRUCTURE*/", _literal(orjson.dumps(structure).decode()))
           .replace("/*STATE*/", states)
           .replace("/*ORDER_ID_OK*/", f"({order_ok})")
           .replace("/*ORDER_ID*/", order_id))
    return Plan(sql, _sql("fastpath_macros"))


@dataclass(frozen=True)
class Layout:
    """What a pass over the file's bytes found: its lines and what rules the fast path out."""

    lines: int  # as Records counts them: every newline, plus an unterminated last line
    carriage_returns: bool  # DuckDB's CSV reader splits lines on a lone CR too: Python's job


def layout_of(path: Path) -> Layout | None:
    """Count the lines of a plain (not gzip) file; None when it is compressed."""
    lines, cr, last = 0, False, b"\n"
    with path.open("rb") as handle:
        if handle.peek(2)[:2] == _GZIP_MAGIC:
            return None
        while chunk := handle.read(_CHUNK):
            lines += chunk.count(b"\n")
            cr = cr or b"\r" in chunk
            last = chunk
    if not last.endswith(b"\n"):
        lines += 1
    return Layout(lines, cr)


def usable(path: Path, head: bytes, policy: Policy) -> Layout | None:
    """The file's layout when the fast path can read it, else None (the Python path reads it)."""
    if detect.is_document(head) or plan_for(policy) is None:
        return None
    layout = layout_of(path)
    if layout is None or layout.carriage_returns or layout.lines == 0:
        return None
    return layout


@dataclass
class FastResult:
    """What the SQL stored: rows inserted and skipped, and the lines left to Python."""

    taken: int = 0  # records the SQL took: inserted + duplicates
    inserted: int = 0
    slow_lines: list[int] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.taken - self.inserted


class LayoutChanged(RuntimeError):
    """DuckDB saw other lines than Python counts: the caller must roll back and read in Python."""


def load_events(
    cursor: duckdb.DuckDBPyConnection, path: Path, policy: Policy, ingest_id: int, layout: Layout,
) -> FastResult:
    """Insert every line the SQL can take; return the counts and the other lines' numbers."""
    plan = plan_for(policy)
    assert plan is not None
    cursor.execute("SET TimeZone = 'UTC'")
    cursor.execute(plan.macros)
    cursor.execute(plan.sql, {"path": str(path)})
    try:
        seen, last = cursor.execute(
            "SELECT count(*), coalesce(max(line_no), 0) FROM fastpath_stage").fetchone() or (0, 0)
        if seen != layout.lines or last != layout.lines:
            raise LayoutChanged(f"DuckDB read {seen} lines, Python counts {layout.lines}")
        result = FastResult()
        row = cursor.execute(
            "INSERT OR IGNORE INTO events BY NAME SELECT * EXCLUDE (line_no, fast), "
            "$ingest_id::BIGINT AS ingest_id FROM fastpath_stage WHERE fast",
            {"ingest_id": ingest_id},
        ).fetchone()
        result.inserted = int(row[0]) if row else 0
        taken, slow = cursor.execute(
            "SELECT count(*) FILTER (fast), list(line_no ORDER BY line_no) FILTER (NOT fast) "
            "FROM fastpath_stage").fetchone() or (0, None)
        result.taken, result.slow_lines = int(taken), list(slow or [])
        return result
    finally:
        cursor.execute("DROP TABLE IF EXISTS fastpath_stage")


class SlowLines:
    """The records of chosen lines of a file, as `detect.Records` would give them.

    `offset` and `line` follow `Records` (bytes and lines consumed), so the driver's
    checkpoints stay right; at the end they cover the whole file.
    """

    def __init__(
        self, path: Path, numbers: Sequence[int], layout: Layout, *, max_line: int,
    ) -> None:
        self.path, self.numbers, self.layout, self.max_line = path, numbers, layout, max_line
        self.offset = 0
        self.line = 0

    def __iter__(self) -> Iterator[tuple[Any, Where]]:
        wanted = iter(self.numbers)
        target = next(wanted, None)
        with self.path.open("rb", buffering=_CHUNK) as handle:
            while target is not None and (data := handle.readline()):
                number = self.line + 1
                if number == target:
                    yield from Records(io.BytesIO(data), document=False, offset=self.offset,
                                       line=number - 1, max_line=self.max_line)
                    target = next(wanted, None)
                self.offset += len(data)
                self.line = number
        self.offset, self.line = self.path.stat().st_size, self.layout.lines
