"""The DuckDB-native fast path for OTLP JSON lines (the Collector file exporter's batches).

Python reads the file's lines in slices, as `detect.Records` reads them, so every line keeps
its number; DuckDB parses each slice once and walks resourceSpans → scopeSpans (or the legacy
instrumentationLibrarySpans) → spans in SQL (collectors/sql/spans_fast.sql), giving per line
the `spans` rows `collectors.otlp.OtlpParser` would store and whether it can vouch for all of
them. The rows of those lines are inserted; every other line (and a blank, BOM or over-long
line's special handling) is left to the Python parser by number, so its rows, rejects (file,
line, reason) and counts are what the Python path would give. Keys that lines of different
content share send the whole file to the Python path, which keeps the first in file order.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from collectors import detect, fastpath
from collectors.correlation import split_paths
from collectors.fastpath import FastResult, Layout, LayoutChanged, literal
from collectors.otlp import SPAN_KINDS, STATUS_CODES, OtlpParser
from collectors.rows import SpanRow
from queries import ingest as log
from queries.ingest import Table
from queries.policy import Policy

SLICE_BYTES = 16 * 1024 * 1024  # the lines one worker gives DuckDB at once
SLICE_LINES = 50_000
WORKERS = 2  # this machine's cores; each slice of few long lines keeps one busy
KEY_BATCH = 50_000  # rows of the lines left to Python checked for ids at once
_BOM = b"\xef\xbb\xbf"
_VALUE = {"stringValue": "JSON", "intValue": "VARCHAR", "doubleValue": "JSON", "boolValue": "JSON",
          "bytesValue": "JSON", "arrayValue": "JSON", "kvlistValue": "JSON"}
_KV = [{"key": "VARCHAR", "value": _VALUE}]
_SPAN = {
    "traceId": "JSON", "spanId": "JSON", "parentSpanId": "JSON", "name": "JSON", "kind": "JSON",
    "startTimeUnixNano": "JSON", "endTimeUnixNano": "JSON", "attributes": _KV,
    "events": "JSON", "links": "JSON", "status": "JSON",
}
_SCOPE = {"scope": {"name": "JSON"}, "instrumentationLibrary": {"name": "JSON"}, "spans": [_SPAN]}
STRUCTURE = {"resourceSpans": [{
    "resource": {"attributes": _KV}, "scopeSpans": [_SCOPE],
    "instrumentationLibrarySpans": [_SCOPE],
}]}
# One KeyValue of the common shape, as DuckDB writes it back, in groups: the key, then its
# value (string or bytes, integer, double, or true/false/null): see otlp_rewrite.
_STR = r'"[^"]*"'
_ITEM = (r'\{"key":(' + _STR + r'),"value":\{(?:"(?:stringValue|bytesValue)":(' + _STR + r')'
         + r'|"intValue":"?(0|-?[1-9][0-9]{0,17})"?'
         + r'|"doubleValue":(-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]+)?)'
         + r'|"boolValue":(true|false|null))\}\}')
# One link of plain hex ids and nothing else (see otlp_links).
_LINK = r'\{"traceId":"[0-9a-fA-F]{32}","spanId":"[0-9a-fA-F]{16}"\}'


def _names(names: dict[str, int], prefix: str) -> str:
    """WHEN clauses naming each enum value, with and without its prefix (otlp.enum_value)."""
    whens = [f"WHEN {literal(name)} THEN {value}" for name, value in names.items()]
    whens += [f"WHEN {literal(name.removeprefix(prefix))} THEN {value}"
              for name, value in names.items() if name.startswith(prefix)]
    return " ".join(whens)


def _correlation(paths: list[str]) -> str:
    """SQL for the first usable value along the policy's paths (correlation.correlate), else NULL."""
    maps = {"attributes": "attribute_map", "resource": "resource_map"}
    terms = [f"otlp_text(map_extract_value({maps[source]}, {literal(key)}))"
             for source, key in split_paths(paths, OtlpParser.known)]
    return f"coalesce({', '.join(terms)})" if terms else "NULL::VARCHAR"


@dataclass(frozen=True)
class Plan:
    """The SQL of the OTLP fast path for one policy."""

    macros: str
    lines: str


def plan_for(policy: Policy) -> Plan:
    """The fast path's SQL for this policy."""
    macros = fastpath.sql("fastpath_macros") + "\n" + (
        fastpath.sql("spans_macros")
        .replace("/*ITEM*/", _ITEM)
        .replace("/*LINK*/", _LINK)
        .replace("/*KIND_NAMES*/", _names(SPAN_KINDS, "SPAN_KIND_"))
        .replace("/*STATUS_NAMES*/", _names(STATUS_CODES, "STATUS_CODE_")))
    lines = (fastpath.sql("spans_fast")
             .replace("/*STRUCTURE*/", literal(orjson.dumps(STRUCTURE).decode()))
             .replace("/*ORDER_ID*/", _correlation(policy.correlation.order_id))
             .replace("/*MESSAGE_ID*/", _correlation(policy.correlation.message_id)))
    return Plan(macros, lines)


def usable(path: Path, head: bytes) -> Layout | None:
    """The file's layout when the fast path can read it (JSON lines, not gzip), else None."""
    if detect.is_document(head):
        return None
    layout = fastpath.layout_of(path)
    return layout if layout is not None and layout.lines else None


_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'{}[]"')
_STRINGS = re.compile(rb'"[^"]*"')
MAX_DEPTH = 1024  # orjson refuses deeper JSON; DuckDB's reader does not


def shallow(line: bytes) -> bool:
    """Whether `line` surely nests no deeper than orjson reads; False when unsure.

    DuckDB reads any depth, so a line nested deeper must reach Python and be rejected there.
    """
    if line.count(b"{") + line.count(b"[") <= MAX_DEPTH:
        return True
    if b"\\" in line:  # escaped quotes and backslashes must not end or start strings
        line = line.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Only brackets and quotes; two quotes in a row never change what is inside a string.
    skeleton = line.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRINGS.sub(b"", skeleton)
    rounds = 0  # each round strips innermost pairs: at most two levels
    while 2 * rounds + len(skeleton) // 2 > MAX_DEPTH:
        stripped = skeleton.replace(b"{}", b"").replace(b"[]", b"")
        if len(stripped) == len(skeleton):
            return False  # unbalanced: not JSON anyway
        skeleton, rounds = stripped, rounds + 1
    return True


@dataclass
class _Slice:
    """Lines of the file for DuckDB, by number; and the numbers of lines Python must read."""

    numbers: list[int]
    texts: list[str]
    slow: list[int]


def _slices(path: Path, max_line: int) -> Iterator[_Slice]:
    """The file's non-blank lines in slices, as text for DuckDB or as numbers for Python.

    Python reads a line DuckDB must not: one longer than `max_line` (rejected), one that is not
    UTF-8, or one with blanks around it other than the line end (orjson and DuckDB differ).
    """
    current = _Slice([], [], [])
    size = 0
    with path.open("rb", buffering=fastpath.CHUNK) as handle:
        for number, data in enumerate(handle, 1):
            text = data[:-1] if data.endswith(b"\n") else data
            if text.startswith(_BOM):
                text = text[3:]
            if not text.strip():
                continue  # not a record at all, as in Records
            if (len(data) > max_line or not text.startswith(b"{") or not text.endswith(b"}")
                    or not shallow(text)):
                current.slow.append(number)
                continue
            try:
                current.texts.append(text.decode("utf-8"))
            except UnicodeDecodeError:
                current.slow.append(number)
                continue
            current.numbers.append(number)
            size += len(text)
            if size >= SLICE_BYTES or len(current.numbers) >= SLICE_LINES:
                yield current
                current, size = _Slice([], [], []), 0
    yield current


def load_spans(
    cursor: duckdb.DuckDBPyConnection, path: Path, policy: Policy, ingest_id: int, *,
    max_line: int,
) -> FastResult:
    """Insert the spans of every line the SQL can take; return counts and the other lines.

    Raises LayoutChanged when the file must be read by the Python path instead: the caller rolls
    the cursor's transaction back, which must hold nothing else.
    """
    plan = plan_for(policy)
    result = FastResult()
    reader = _Reader(cursor, plan)
    pending: deque[tuple[_Slice, Future[pa.Table]]] = deque()
    try:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="backroom-otlp") as pool:
            for part in _slices(path, max_line):
                result.slow_lines += part.slow
                if part.numbers:
                    pending.append((part, pool.submit(reader.rows, part)))
                while len(pending) > WORKERS:  # keep every worker busy, and memory bounded
                    done, rows = pending.popleft()
                    _store(cursor, done, rows.result(), ingest_id, result)
            while pending:
                done, rows = pending.popleft()
                _store(cursor, done, rows.result(), ingest_id, result)
        result.slow_lines.sort()
        if result.slow_lines and _shares_keys(cursor, path, result.slow_lines, policy, ingest_id,
                                              max_line):
            raise LayoutChanged("lines left to Python share span ids with lines stored")
        return result
    finally:
        for _, rows in pending:
            rows.cancel()
        reader.close()


class _Reader:
    """Turns slices of lines into span rows on cursors of its own, one per worker thread.

    The SQL only reads (the lines come from Python), so it can run beside the writing cursor:
    a slice of few long lines is one DuckDB task, and each worker keeps one core busy.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection, plan: Plan) -> None:
        self.parent, self.plan = cursor, plan
        self.local = threading.local()
        self.cursors: list[duckdb.DuckDBPyConnection] = []
        self.lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        own: duckdb.DuckDBPyConnection | None = getattr(self.local, "cursor", None)
        if own is None:
            with self.lock:
                own = self.parent.cursor()
                self.cursors.append(own)
            own.execute("SET TimeZone = 'UTC'")
            own.execute(self.plan.macros)
            self.local.cursor = own
        return own

    def rows(self, part: _Slice) -> pa.Table:
        """The rows of spans_fast.sql for the lines of `part`."""
        own = self._cursor()
        lines = pa.table({"line_no": pa.array(part.numbers, pa.int64()),
                          "line": pa.array(part.texts, pa.string())})
        own.register("fastpath_otlp_lines", lines)
        try:
            return own.execute(self.plan.lines).to_arrow_table()
        finally:
            own.unregister("fastpath_otlp_lines")

    def close(self) -> None:
        for own in self.cursors:
            own.close()


def _store(
    cursor: duckdb.DuckDBPyConnection, part: _Slice, rows: pa.Table, ingest_id: int,
    result: FastResult,
) -> None:
    """Insert the rows of the lines of `part` that are all ok; note the other lines as slow."""
    verdicts = rows.group_by("line_no").aggregate([("ok", "all")])
    good = pc.filter(verdicts.column("line_no"), verdicts.column("ok_all"))
    result.slow_lines += sorted(set(part.numbers) - set(good.to_pylist()))
    taken = rows.filter(pc.is_in(rows.column("line_no"), good)).drop_columns(["line_no", "ok"])
    cursor.register("fastpath_otlp_rows", taken.append_column(
        "ingest_id", pa.array([ingest_id] * taken.num_rows, pa.int64())))
    try:
        distinct, different = cursor.execute(
            "SELECT count(DISTINCT (trace_id, span_id)), "
            "count(DISTINCT (trace_id, span_id, hash(r))) FROM fastpath_otlp_rows AS r"
        ).fetchone() or (0, 0)
        if different != distinct:  # INSERT OR IGNORE would keep any of them, not the first
            raise LayoutChanged("spans of one id with different content")
        inserted = log.insert_relation(cursor, Table.SPANS, "fastpath_otlp_rows")
    finally:
        cursor.unregister("fastpath_otlp_rows")
    result.taken += taken.num_rows
    result.inserted += inserted


def _shares_keys(
    cursor: duckdb.DuckDBPyConnection, path: Path, numbers: list[int], policy: Policy,
    ingest_id: int, max_line: int,
) -> bool:
    """Whether the lines left to Python hold span ids this ingest has stored already.

    Python would have met those lines in file order; such a file is Python's alone. The lines
    are parsed here once more, a batch of rows at a time, only for their ids.
    """
    parser = OtlpParser(str(path), policy)
    for value, where in fastpath.SlowLines(path, numbers, Layout(0, False), max_line=max_line):
        if not isinstance(value, detect.Failed):
            parser.feed(value, where)
        if len(parser.buffer) >= KEY_BATCH and _stored(cursor, parser, ingest_id):
            return True
    return _stored(cursor, parser, ingest_id)


def _stored(cursor: duckdb.DuckDBPyConnection, parser: OtlpParser, ingest_id: int) -> bool:
    """Whether any row in the parser's buffer has the id of a span this ingest stored; empties it."""
    rows = cast(list[SpanRow], parser.buffer.rows)
    parser.buffer.rows = []
    if not rows:
        return False
    keys = pa.table({"trace_id": [row.trace_id for row in rows],
                     "span_id": [row.span_id for row in rows]})
    cursor.register("fastpath_otlp_keys", keys)
    try:
        return bool(fastpath.scalar(cursor.execute(
            "SELECT count(*) FROM spans s JOIN fastpath_otlp_keys k USING (trace_id, span_id) "
            "WHERE s.ingest_id = $id", {"id": ingest_id})))
    finally:
        cursor.unregister("fastpath_otlp_keys")
