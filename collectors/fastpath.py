"""The DuckDB-native fast path for CloudEvents JSON Lines, with a line-by-line Python fallback.

DuckDB reads the file's raw lines, parses each and computes every canonical `events` column in
SQL (collectors/sql/events_fast.sql), exactly as `collectors.cloudevents.EventsParser` does, and
inserts them in one statement. A line that SQL cannot take with certainty (invalid or lax JSON,
a key twice, a batch array, `data_base64`, an unusual type or timestamp shape, a blank line) is
left out; when any line was, a second statement names them by their text, Python finds them
in the file and the Python parser reads them, so their rows, rejects (file, line, reason) and
counts are what the Python path would give. Whatever cannot be lined up exactly undoes the
insert and hands the whole file to the Python path.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import orjson

from collectors import detect
from collectors.cloudevents import REQUIRED
from collectors.correlation import split_paths
from collectors.detect import Records
from collectors.rows import Where
from queries.policy import Policy

CHUNK = 8 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
EVENT_LINE_BYTES = 2 * 1024 * 1024  # DuckDB's CSV reader skips longer lines: then Python reads
# Lines left to Python are fetched by their text: past these the Python path reads the file.
MAX_SLOW_LINES = 250_000
MAX_SLOW_BYTES = 256 * 1024 * 1024
# The JSON members the SQL reads; each arrives as its JSON text, so types can be checked.
_TOP = (*REQUIRED, "time", "recordedtime", "traceparent", "channel", "data_base64")
_DATA = ("order_name", "customer_email", "store_id", "sku", "quantity", "amount", "currency",
         "movement_id", "kind", "system")


def sql(name: str) -> str:
    """The text of collectors/sql/NAME.sql."""
    return (resources.files("collectors") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """`name` as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def key_bits(name: str, keys: Sequence[str]) -> str:
    """SQL giving each of `keys` its own bit (and any other key 0), for `fastpath_once`."""
    assert len(keys) < 63
    cases = " ".join(f"WHEN {literal(key)} THEN {1 << bit}" for bit, key in enumerate(keys))
    return f"CASE {name} {cases} ELSE 0 END"


@dataclass(frozen=True)
class Plan:
    """The SQL of the CloudEvents fast path for one policy."""

    insert: str  # a plain INSERT: fails on a key stored already or given twice
    insert_or_ignore: str
    check: str  # names the lines left out by comparing their text with the payloads stored
    check_hashed: str  # the same by the texts' 64-bit hashes: cheaper, exact when counts agree
    stored: str
    keys: str
    macros: str
    lines: str  # events_fast.sql for this policy: a row per line, its columns and `fast`


def plan_for(policy: Policy) -> Plan | None:
    """The fast path's SQL for this policy, or None when its correlation paths need Python."""
    pairs = split_paths(policy.correlation.order_id, ("data",), top_level=True)
    top, data = list(_TOP), list(_DATA)
    terms = []
    for source, key in pairs:
        # Dotted keys mean "literal key first, then nesting" (correlation.lookup): Python's job.
        if "." in key or not key or (source == "" and key == "data"):
            return None
        holder = "e" if source == "" else "e.data"
        names = top if source == "" else data
        if key not in names:
            names.append(key)
        terms.append(f"{holder}.{ident(key)}")
    structure: dict[str, Any] = {name: "JSON" for name in top}
    structure["data"] = {name: "JSON" for name in data}
    order_id = ("coalesce(" + ", ".join(f"fastpath_text({t})" for t in terms) + ")"
                if terms else "NULL")
    order_ok = " AND ".join(f"fastpath_is_str({t})" for t in terms) or "true"
    states = " ".join(
        f"WHEN {literal(event_type)} THEN {literal(state)}"
        for event_type, state in policy.states.items()
    ) or "WHEN NULL THEN NULL"
    lines = (sql("events_fast")
             .replace("/*STRUCTURE*/", literal(orjson.dumps(structure).decode()))
             .replace("/*TOP_BITS*/", key_bits("k", [*top, "data"]))
             .replace("/*DATA_BITS*/", key_bits("k", data))
             .replace("/*STATE*/", states)
             .replace("/*ORDER_ID_OK*/", f"({order_ok})")
             .replace("/*ORDER_ID*/", order_id))
    insert = sql("events_insert").replace("/*LINES*/", lines)
    check = sql("events_check")
    return Plan(insert, insert.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1),
                check.replace("/*LINE*/", "l.line").replace("/*PAYLOAD*/", "payload::VARCHAR"),
                check.replace("/*LINE*/", "hash(l.line)")
                .replace("/*PAYLOAD*/", "hash(payload::VARCHAR)"),
                sql("events_stored"), sql("events_keys"), sql("fastpath_macros"), lines)


@dataclass(frozen=True)
class Layout:
    """What a pass over the file's bytes found: its lines and what rules the fast path out."""

    lines: int  # as Records counts them: every newline, plus an unterminated last line
    # DuckDB's CSV reader splits lines on a lone CR, and on the control character the fast
    # paths use as column delimiter: such files are Python's job.
    splits_otherwise: bool


def layout_of(path: Path) -> Layout | None:
    """Count the lines of a plain (not gzip) file; None when it is compressed."""
    if detect.is_gzip(path):
        return None
    lines, odd, last = 0, False, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            lines += chunk.count(b"\n")
            odd = odd or b"\r" in chunk or b"\x01" in chunk
            last = chunk
    if not last.endswith(b"\n"):
        lines += 1
    return Layout(lines, odd)


def usable(path: Path, head: bytes, policy: Policy) -> Layout | None:
    """The file's layout when the fast path can read it, else None (the Python path reads it)."""
    if detect.is_document(head) or plan_for(policy) is None:
        return None
    layout = layout_of(path)
    if layout is None or layout.splits_otherwise or layout.lines == 0:
        return None
    return layout


@dataclass
class FastResult:
    """What the SQL stored: rows inserted and skipped, and the lines left to Python."""

    taken: int = 0  # records the SQL took: inserted + duplicates
    inserted: int = 0
    slow_lines: list[int] = field(default_factory=list)  # line numbers, 1-based
    slow_offsets: list[int] = field(default_factory=list)  # where each of them starts

    @property
    def duplicates(self) -> int:
        return self.taken - self.inserted


class LayoutChanged(RuntimeError):
    """DuckDB and Python do not see the same lines: the Python path must read the whole file."""


def scalar(cursor: duckdb.DuckDBPyConnection) -> int:
    """The one number a statement returned."""
    row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def load_events(
    cursor: duckdb.DuckDBPyConnection, path: Path, policy: Policy, ingest_id: int, layout: Layout,
) -> FastResult:
    """Insert every line the SQL can take; return the counts and the other lines' places.

    The cursor's transaction must hold nothing else yet: when the file repeats a key, or gives
    one stored already, the first (plain) insert fails and is rolled back with the transaction.
    Raises LayoutChanged when the file must be read by the Python path instead: the caller rolls
    the transaction back.
    """
    plan = plan_for(policy)
    assert plan is not None
    cursor.execute("SET TimeZone = 'UTC'")
    cursor.execute(plan.macros)
    params: dict[str, Any] = {"path": str(path), "longest": EVENT_LINE_BYTES}
    inserted = _insert(cursor, plan, {**params, "ingest_id": ingest_id})
    if inserted == layout.lines:  # every line taken and new: nothing left to line up
        return FastResult(inserted, inserted)
    taken, slow, unread = _leftovers(cursor, plan, params, path, layout, ingest_id, inserted)
    places = sorted(locate(path, slow, layout) + unread)
    return FastResult(taken, inserted, [number for number, _ in places],
                      [offset for _, offset in places])


def _insert(cursor: duckdb.DuckDBPyConnection, plan: Plan, params: dict[str, Any]) -> int:
    """Rows inserted: a plain INSERT first, INSERT OR IGNORE when a key is taken or repeated.

    INSERT OR IGNORE costs about a fifth more than a plain INSERT on a file of new events, the
    usual case; a failed plain INSERT aborts DuckDB's transaction, which is rolled back.
    """
    try:
        return scalar(cursor.execute(plan.insert, params))
    except duckdb.ConstraintException:
        cursor.execute("ROLLBACK")
        cursor.execute("BEGIN TRANSACTION")
        cursor.execute(plan.macros)  # created in the transaction rolled back
        return scalar(cursor.execute(plan.insert_or_ignore, params))


def _leftovers(
    cursor: duckdb.DuckDBPyConnection, plan: Plan, params: dict[str, Any], path: Path,
    layout: Layout, ingest_id: int, inserted: int,
) -> tuple[int, list[str], list[tuple[int, int]]]:
    """(lines the SQL took, text of each line it left to Python, places of the lines DuckDB
    could not read), checked against the layout.

    DuckDB's reader drops a line that is not valid UTF-8 (Python rejects it): when DuckDB read
    fewer lines than the file has, those lines are looked for, and must make up the difference.

    A line is taken when its text is the payload of a row this ingest stored, or of a row stored
    before under the line's key (a duplicate); finding that costs a read of the lines and of
    this ingest's payloads, not the per-line verdict again.

    The texts are matched by their hashes first. Each of the `inserted` rows came from a line of
    its payload's text, so at least that many lines match by text, and every line that matches
    by text matches by hash: when exactly `inserted` lines match by hash, those are the lines
    that match by text. Otherwise (a line given twice, or a hash shared by chance) the texts are
    compared.
    """
    arguments = {**params, "ingest_id": ingest_id}
    cursor.execute(plan.check_hashed, arguments)
    try:
        lines, left_out = cursor.execute(
            "SELECT count(*), count(slow_line) FROM fastpath_check").fetchone() or (0, 0)
        if lines - left_out != inserted:
            cursor.execute(plan.check, arguments)
            lines = scalar(cursor.execute("SELECT count(*) FROM fastpath_check"))
        unread = undecodable(path) if lines < layout.lines else []
        if lines + len(unread) != layout.lines:
            raise LayoutChanged(f"DuckDB read {lines} lines, Python counts {layout.lines}, "
                                f"{len(unread)} of them not UTF-8")
        # Only a line that is JSON at all can repeat a stored row or share a key with one.
        if scalar(cursor.execute(
                "SELECT count(*) FROM fastpath_check WHERE json_valid(trim(slow_line, "
                "' ' || chr(9) || chr(65279)))")):
            cursor.execute(plan.stored)
            if scalar(cursor.execute(plan.keys, {"ingest_id": ingest_id})):
                raise LayoutChanged("lines of different text share a key")
        slow_count, slow_bytes = cursor.execute(
            "SELECT count(slow_line), coalesce(sum(strlen(slow_line)), 0) FROM fastpath_check "
            "WHERE NOT stored").fetchone() or (0, 0)
        if slow_count + len(unread) > MAX_SLOW_LINES or slow_bytes > MAX_SLOW_BYTES:
            raise LayoutChanged(f"{slow_count + len(unread)} lines need Python: it reads the "
                                "whole file")
        slow = cursor.execute("SELECT slow_line FROM fastpath_check "
                              "WHERE slow_line IS NOT NULL AND NOT stored").fetchall()
        return lines - len(slow), [text for (text,) in slow], unread
    finally:
        cursor.execute("DROP TABLE IF EXISTS fastpath_check")


def undecodable(path: Path) -> list[tuple[int, int]]:
    """(number, byte offset) of each line of the file that is not valid UTF-8.

    Such a line is what DuckDB's reader leaves out of a file (Python's reader rejects it). The
    file is decoded a chunk of whole lines at a time; only a chunk that fails is split.
    """
    found: list[tuple[int, int]] = []
    number = offset = 0  # lines and bytes before `rest`
    rest = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            data = rest + chunk if rest else chunk
            end = len(data) if not chunk else data.rfind(b"\n") + 1
            if end == 0 and chunk:
                rest = data  # no line ends yet: a line longer than a chunk
                continue
            body, rest = data[:end], data[end:]
            try:
                body.isascii() or body.decode("utf-8")
            except UnicodeDecodeError:
                start = offset
                for index, text in enumerate(_lines_of(body), number + 1):
                    try:
                        text.decode("utf-8")
                    except UnicodeDecodeError:
                        found.append((index, start))
                    start += len(text) + 1
            number += body.count(b"\n")  # an unterminated line can only be the file's last
            offset += len(body)
            if not chunk:
                return found


def _lines_of(body: bytes) -> list[bytes]:
    """The lines of `body`, without their line ends (only the last may have none)."""
    lines = body.split(b"\n")
    if body.endswith(b"\n"):
        lines.pop()
    return lines


def locate(path: Path, texts: Sequence[str], layout: Layout) -> list[tuple[int, int]]:
    """(number, byte offset) of the lines whose text is one of `texts`, each as often as given.

    `texts` are lines as DuckDB's CSV reader gave them (without the line end, and without a
    byte-order mark at the start of the file); LayoutChanged unless every one is found. Only
    lines of a length one of them has are compared (the rest cost a length and an addition).
    """
    if not texts:
        return []
    wanted = Counter(text.encode("utf-8", errors="surrogatepass") for text in texts)
    # Lengths as read: with the line end, or without it for an unterminated last line.
    sizes = {len(text) + end for text in wanted for end in (0, 1)}
    found: Counter[bytes] = Counter()
    places: list[tuple[int, int]] = []
    number = offset = 0
    with path.open("rb", buffering=CHUNK) as handle:
        for number, data in enumerate(handle, 1):
            if len(data) in sizes or number == 1:  # the first line may start with a BOM
                text = data[:-1] if data.endswith(b"\n") else data
                if number == 1 and text.startswith(_BOM):
                    text = text[3:]
                if text in wanted:
                    found[text] += 1
                    places.append((number, offset))
            offset += len(data)
    if found != wanted or number != layout.lines:
        raise LayoutChanged("the lines left to Python are not where DuckDB saw them")
    return places


class SlowLines:
    """The records of chosen lines of a file, as `detect.Records` would give them.

    `offset` and `line` follow `Records` (bytes and lines consumed), so the driver's
    checkpoints stay right; at the end they cover the whole file.
    """

    def __init__(
        self, path: Path, numbers: Sequence[int], layout: Layout, *, max_line: int,
        offsets: Sequence[int] | None = None,
    ) -> None:
        self.path, self.numbers, self.layout, self.max_line = path, numbers, layout, max_line
        self.offsets = offsets  # where each numbered line starts, when known: no reading up to it
        self.offset = 0
        self.line = 0

    def __iter__(self) -> Iterator[tuple[Any, Where]]:
        if self.offsets is not None:
            yield from self._seeking(self.offsets)
        else:
            yield from self._reading()
        self.offset, self.line = self.path.stat().st_size, self.layout.lines

    def _seeking(self, offsets: Sequence[int]) -> Iterator[tuple[Any, Where]]:
        with self.path.open("rb") as handle:
            for number, offset in zip(self.numbers, offsets, strict=True):
                handle.seek(offset)
                self.offset, self.line = offset, number - 1
                data = handle.readline()
                yield from Records(io.BytesIO(data), document=False, offset=offset,
                                   line=number - 1, max_line=self.max_line)
                self.offset, self.line = offset + len(data), number

    def _reading(self) -> Iterator[tuple[Any, Where]]:
        wanted = iter(self.numbers)
        target = next(wanted, None)
        with self.path.open("rb", buffering=CHUNK) as handle:
            while target is not None and (data := handle.readline()):
                number = self.line + 1
                if number == target:
                    yield from Records(io.BytesIO(data), document=False, offset=self.offset,
                                       line=number - 1, max_line=self.max_line)
                    target = next(wanted, None)
                self.offset += len(data)
                self.line = number
