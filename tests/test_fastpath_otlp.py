"""The DuckDB fast path for OTLP JSON lines gives the Python path's rows, rejects and counts."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import fastpath_otlp, ingest_paths
from collectors.reports import IngestReport
from queries import Store
from queries.policy import Policy, load
from tests.estate import uncovered_spans

COLUMNS = (
    "trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms, "
    "status_code, status_message, scope, attributes::VARCHAR, resource::VARCHAR, "
    "span_events::VARCHAR, links::VARCHAR, order_id, message_id"
)
TRACE = "7a3c9e0f4b2d41c8a1f0e2d3c4b5a697"
NANOS = "1767225600000000000"


@pytest.fixture
def policy() -> Policy:
    return load()


def kv(key: Any, value: Any) -> dict[str, Any]:
    return {"key": key, "value": value}


def span(n: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "traceId": TRACE, "spanId": f"{n:016x}", "parentSpanId": f"{n + 1000:016x}",
        "flags": 257, "name": f"op {n}", "kind": 2,
        "startTimeUnixNano": NANOS, "endTimeUnixNano": str(int(NANOS) + 250_000_000 + n),
        "attributes": [kv("retail.order_id", {"stringValue": f"ORD-{n:05d}"}),
                       kv("http.response.status_code", {"intValue": "201"}),
                       kv("retail.order.amount", {"doubleValue": 235.95}),
                       kv("retail.pos.offline_sync", {"boolValue": False})],
        "status": {},
    }
    body.update(fields)
    return body


def batch(*spans: dict[str, Any], resource: list[Any] | None = None, legacy: bool = False,
          scope: Any = None) -> dict[str, Any]:
    attributes = resource if resource is not None else [
        kv("service.name", {"stringValue": "pos-sync"}), kv("service.version", {"stringValue": "2"})]
    scope_key, name_key = ("instrumentationLibrarySpans", "instrumentationLibrary") if legacy \
        else ("scopeSpans", "scope")
    scope_spans = {name_key: scope if scope is not None else {"name": "com.acme", "version": "1"},
                   "spans": list(spans)}
    return {"resourceSpans": [{"resource": {"attributes": attributes}, scope_key: [scope_spans]}]}


def line(value: Any) -> bytes:
    return orjson.dumps(value)


def write(path: Path, lines: list[bytes], end: bytes = b"\n") -> Path:
    path.write_bytes(b"\n".join(lines) + end)
    return path


def both_ways(tmp_path: Path, source: Path, policy: Policy) -> tuple[
        tuple[IngestReport, list[Any], list[Any]], tuple[IngestReport, list[Any], list[Any]]]:
    results = []
    for fast in (True, False):
        store = Store.at(tmp_path / f"{source.stem}-{'fast' if fast else 'slow'}.duckdb")
        report = ingest_paths(store, [source], policy=policy, fast_path=fast,
                              otlp_fast_path=fast)
        with store.reading() as cursor:
            rows = cursor.execute(f"SELECT {COLUMNS} FROM spans ORDER BY ALL").fetchall()
            rejects = cursor.execute(
                "SELECT source, line, byte_offset, reason, excerpt FROM rejects ORDER BY ALL"
            ).fetchall()
        assert uncovered_spans(store) == 0  # each way notes its traces' windows for journeys
        results.append((report, rows, rejects))
    return results[0], results[1]


def counts(report: IngestReport) -> tuple[int, int, int, int]:
    return report.records, report.rows["spans"], report.skipped_duplicates, report.rejects


def taken_by_sql(path: Path, policy: Policy, store: Store) -> fastpath_otlp.FastResult:
    with store.writing() as cursor:
        result = fastpath_otlp.load_spans(cursor, path, policy, 1, max_line=1 << 26)
        cursor.execute("ROLLBACK")
        cursor.execute("BEGIN TRANSACTION")
    return result


# Lines the SQL takes: the usual shapes and the quirks FORMATS.md lists.
QUIRKS: list[bytes] = [
    line(batch(span(1), span(2, parentSpanId=""), span(3, parentSpanId="0" * 16))),
    line(batch(span(4, traceId=TRACE.upper(), spanId="00000000000000AB", kind="SPAN_KIND_CLIENT"))),
    line(batch(span(5, startTimeUnixNano=int(NANOS), endTimeUnixNano=int(NANOS) + 7, kind="3"))),
    line(batch(span(6), legacy=True)),
    line(batch(span(7, kind="server", status={"code": 2, "message": "publish not confirmed"}),
               span(8, status={"code": "STATUS_CODE_OK", "message": ""}),
               span(9, status={"code": "error"}), span(10, status=[]), span(11, kind=7))),
    line(batch(span(12, attributes=[
        kv("order.id", {"intValue": 1042}), kv("empty", {}), kv("none", None),
        kv("ratio", {"doubleValue": 0.5}), kv("whole", {"doubleValue": 5}),
        kv("big", {"intValue": "9007199254740993"}), kv("neg", {"intValue": "-7"}),
        kv("nan", {"doubleValue": "NaN"}), kv("raw", {"bytesValue": "AAEC"}),
        kv("text", {"stringValue": "caf\u00e9 \u2603 \"quoted\" back\\slash\ttab"}),
        kv(7, {"stringValue": "key not a string"}), "not an item",
        kv("messaging.message.id", {"stringValue": "m-1"}),
    ]))),
    line(batch(span(13, events=[
        {"timeUnixNano": NANOS, "name": "broker.nack",
         "attributes": [kv("retry", {"boolValue": True})]},
        "not an event", {"name": "no time"},
    ], links=[{"traceId": TRACE.upper(), "spanId": "B7AD6B7169203331"},
              {"traceId": TRACE, "spanId": "b7ad6b7169203332",
               "attributes": [kv("link.kind", {"stringValue": "follows"})]}]))),
    line(batch(span(14, links=[{"traceId": TRACE, "spanId": "b7ad6b7169203333"}]),
               resource=[kv("service.name", {"stringValue": "checkout"}),
                         kv("retail.order_id", {"stringValue": "ORD-R"})],
               scope={"name": 42})),
    line(batch(span(15, attributes=[], startTimeUnixNano="0", endTimeUnixNano="abc",
                    name=None, parentSpanId=None))),
    line(batch(span(16, attributes=[kv("order.id", {"doubleValue": 1043.0}),
                                    kv("retail.order_id", {"stringValue": "  "})]))),
    line(batch(span(17, attributes=[kv("list", {"arrayValue": {"values": [
        {"stringValue": "a"}, {"intValue": "2"}]}})]))),
    line(batch(span(18, attributes=[kv("tiny", {"doubleValue": 1e-7}),
                                    kv("huge", {"doubleValue": 1e300})]))),
    line(batch(span(19, attributes=[kv("dup", {"stringValue": "a"}),
                                    kv("dup", {"stringValue": "b"})]))),
    line(batch(span(20, traceId=base64.b64encode(bytes.fromhex(TRACE)).decode()))),
    line(batch(span(21, attributes=[kv("nested", {"kvlistValue": {"values": [
        kv("a", {"stringValue": "b"})]}})]))),
    line(batch(span(22, attributes=[kv("bare", "just a string")]))),
    line(batch(span(23, kind=None), span(24, status={"code": None}))),
    line(batch(span(25, attributes=[kv("ctl", {"stringValue": "bell\u0007"})]))),
    line(batch(span(26, startTimeUnixNano=1.7672256e18))),
    line({"resourceSpans": []}),
    line({"batches": batch(span(27))["resourceSpans"]}),
    line(batch(span(1))),  # the first span again: a duplicate
]
BROKEN: list[bytes] = [
    b"{broken",
    line(batch(span(30, traceId="0" * 32), span(31))),
    line(batch(span(32, spanId=""))),
    line(batch(span(33, traceId="not-hex-at-all-not-hex-at-all-00"))),
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + TRACE.encode()
    + b'","spanId":"00000000000000aa","name":"x",}]}]}]}',
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + TRACE.encode()
    + b'","spanId":"00000000000000ab","attributes":[{"key":"n","value":{"doubleValue":NaN}}]}]}]}]}',
    line({"resourceLogs": []}),
    line({"resourceSpans": {"not": "a list"}}),
    line({"resourceSpans": [{"scopeSpans": {"not": "a list"}}]}),
    line({"resourceSpans": [{"scopeSpans": [{"spans": "nope"}]}]}),
    line({"resourceSpans": ["not an object"]}),
    line(batch(span(34, events={"not": "a list"}))),
    b"[" * 2000 + b"]" * 2000,
    b'{"resourceSpans":[],"deep":' + b"[" * 1100 + b"]" * 1100 + b"}",
    b"\xef\xbb\xbf" + line(batch(span(35))),
    b"   ",
    b"",
    line(batch(span(36))) + b"\r",
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + TRACE.encode()
    + b'","spanId":"00000000000000ac","name":"\xff"}]}]}]}',
]


def test_quirky_lines_give_identical_rows(tmp_path: Path, policy: Policy, store: Store) -> None:
    path = write(tmp_path / "quirks.jsonl", QUIRKS)

    (fast, fast_rows, fast_rejects), (slow, slow_rows, slow_rejects) = both_ways(
        tmp_path, path, policy)

    assert fast_rows == slow_rows
    assert fast_rejects == slow_rejects
    assert counts(fast) == counts(slow)
    assert fast.records == fast.rows["spans"] + fast.skipped_duplicates + fast.rejects
    assert fast.skipped_duplicates == 1
    # The SQL took the usual shapes itself and left the rest to Python: a key that is not a
    # string, arrays, extreme doubles, a key twice, base64 ids, kvlists, a bare value, null
    # enums, control characters, float times, no spans at all, Tempo's `batches`.
    taken = taken_by_sql(path, policy, store)
    assert taken.slow_lines == [6, *range(11, 22)]
    assert (taken.taken, taken.inserted) == (16, 15)


def test_a_mixed_file_gives_identical_rows_rejects_and_counts(tmp_path: Path,
                                                               policy: Policy) -> None:
    lines = [line(batch(*(span(n * 10 + k) for k in range(3)))) for n in range(100, 160)]
    for offset, bad in enumerate(BROKEN + QUIRKS):
        lines.insert(3 * offset + 1, bad)
    path = write(tmp_path / "mixed.jsonl", lines, end=b"")  # the last line has no newline

    (fast, fast_rows, fast_rejects), (slow, slow_rows, slow_rejects) = both_ways(
        tmp_path, path, policy)

    assert fast_rows == slow_rows
    assert fast_rejects == slow_rejects
    assert counts(fast) == counts(slow)
    assert fast.records == fast.rows["spans"] + fast.skipped_duplicates + fast.rejects


def test_spans_that_share_an_id_with_other_content_are_read_by_python(
        tmp_path: Path, policy: Policy, store: Store) -> None:
    first, second = span(1, name="first"), span(1, name="second")
    for name, lines in {
        "both-fast": [line(batch(first)), line(batch(second))],
        "one-line": [line(batch(first, second))],
        "slow-first": [line(batch(first, span(2, kind=None))), line(batch(second))],
        "fast-first": [line(batch(second)), line(batch(first, span(2, kind=None)))],
    }.items():
        path = write(tmp_path / f"{name}.jsonl", lines)
        (fast, fast_rows, _), (slow, slow_rows, _) = both_ways(tmp_path, path, policy)
        assert fast_rows == slow_rows, name
        assert counts(fast) == counts(slow), name


def test_the_sql_takes_clean_lines_and_names_the_rest(tmp_path: Path, policy: Policy,
                                                      store: Store) -> None:
    path = write(tmp_path / "spans.jsonl", [
        line(batch(span(1), span(2))), b"", line(batch(span(3, traceId="0" * 32))), b"{broken",
        line(batch(span(4)))])

    result = taken_by_sql(path, policy, store)

    assert (result.taken, result.inserted, result.slow_lines) == (3, 3, [3, 4])


def test_deeply_nested_lines_are_left_to_python() -> None:
    assert fastpath_otlp.shallow(line(batch(span(1))) * 3)
    assert not fastpath_otlp.shallow(b'{"a":' + b"[" * 1100 + b"]" * 1100 + b"}")
    assert fastpath_otlp.shallow(b'{"a":"' + b"[" * 3000 + b'"}')  # inside a string
    assert fastpath_otlp.shallow(b'{"a":"\\"' + b"{" * 600 + b'"}' + b',"b":[' + b"{}," * 600
                                 + b"{}]}")


_SCALARS = st.one_of(
    st.text(max_size=12).map(lambda text: {"stringValue": text}),
    st.integers(-(2**63), 2**63 - 1).map(lambda number: {"intValue": str(number)}),
    st.integers(-(2**31), 2**31).map(lambda number: {"intValue": number}),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda number: {"doubleValue": number}),
    st.booleans().map(lambda flag: {"boolValue": flag}),
    st.just({}),
)
_NANOS = st.one_of(st.integers(-5, 2**64).map(str), st.integers(0, 2**63 - 1),
                   st.sampled_from(["", "12a", "\u0661\u0662", "-3"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(
    st.lists(st.tuples(st.sampled_from(["retail.order_id", "order.id", "a", "b", "service.name",
                                        "messaging.message.id"]), _SCALARS), max_size=4),
    _NANOS, st.sampled_from([0, 1, 2, 5, "SPAN_KIND_SERVER", "internal", 300, -1, "9"]),
    st.booleans()), min_size=1, max_size=6))
def test_random_spans_give_identical_rows(tmp_path: Path, policy: Policy,
                                          spans: list[Any]) -> None:
    documents = []
    for number, (attributes, nanos, kind, upper) in enumerate(spans):
        trace = TRACE.upper() if upper else TRACE
        documents.append(line(batch(span(number, traceId=trace, kind=kind,
                                         startTimeUnixNano=nanos,
                                         attributes=[kv(key, value) for key, value in attributes]))))
    path = write(tmp_path / f"random-{abs(hash(tuple(documents))) % 10**9}.jsonl", documents)

    (fast, fast_rows, fast_rejects), (slow, slow_rows, slow_rejects) = both_ways(
        tmp_path, path, policy)

    assert fast_rows == slow_rows
    assert fast_rejects == slow_rejects
    assert counts(fast) == counts(slow)


def test_doubles_and_strings_are_written_as_orjson_writes_them(tmp_path: Path,
                                                               policy: Policy) -> None:
    numbers = [0.1, 2.5, 100.0, -0.0, 1e15, 123456789012345.6, 1e16, 1e-5, 1.5e-5, 9.87e-6,
               0.30000000000000004, 1.7976931348623157e308, 5e-324, math.pi, -1234.5678]
    texts = ["".join(chr(code) for code in range(start, start + 16)) for start in range(0, 160, 16)]
    texts += ["\u2028\u2029", "\ufeff", "\U0001f600", "/\\\"", "\x7f"]
    attributes = [kv(f"n{i}", {"doubleValue": number}) for i, number in enumerate(numbers)]
    lines = [line(batch(span(i, attributes=[attribute]))) for i, attribute in enumerate(attributes)]
    lines += [line(batch(span(100 + i, attributes=[kv(text, {"stringValue": text})])))
              for i, text in enumerate(texts)]
    path = write(tmp_path / "values.jsonl", lines)

    (fast, fast_rows, _), (slow, slow_rows, _) = both_ways(tmp_path, path, policy)

    assert fast_rows == slow_rows
    assert counts(fast) == counts(slow)
