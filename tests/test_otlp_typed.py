"""The typed way through OTLP JSON lines (msgspec structs) gives the general parser's rows and
rejects, line for line, and takes the lines of the usual shape itself."""

from __future__ import annotations

import io
import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import otlp_typed
from collectors.detect import Failed, Records
from collectors.otlp import OtlpParser
from collectors.otlp_typed import Traces, TypedOtlpParser
from collectors.rows import Parser
from collectors.text import excerpt
from queries.ingest import Reject
from queries.policy import load
from tests.test_fastpath_otlp import BROKEN, NANOS, QUIRKS, TRACE, batch, kv, line, span

POLICY = load()


def wide(value: Any) -> bytes:
    """A line as the stdlib writes it: integers of any size (orjson's stop at 64 bits)."""
    return json.dumps(value, separators=(",", ":")).encode()


def parsed(parser: Parser, lines: list[bytes]) -> tuple[list[Any], list[Reject]]:
    """Rows and rejects of a file of `lines`, read as ingest reads one."""
    rejects: list[Reject] = []
    records = Records(io.BytesIO(b"\n".join(lines) + b"\n"), document=False,
                      decode=parser.decode)
    for value, where in records:
        if isinstance(value, Failed):
            rejects.append(Reject(parser.source, where.line, value.reason,
                                  excerpt(where.raw.rstrip()), where.offset))
        else:
            rejects += parser.feed(value, where)
    return parser.buffer.rows, rejects


def same_both_ways(lines: list[bytes]) -> list[Any]:
    typed = parsed(TypedOtlpParser("f.jsonl", POLICY), lines)
    general = parsed(OtlpParser("f.jsonl", POLICY), lines)
    assert typed[0] == general[0]
    assert typed[1] == general[1]
    return typed[0]


def taken(lines: list[bytes]) -> list[int]:
    """The numbers (from 1) of the lines the typed way takes without the general one."""
    numbers = []
    for number, text in enumerate(lines, 1):
        parser = TypedOtlpParser("f.jsonl", POLICY)
        try:
            value = otlp_typed.decode(text)
        except orjson.JSONDecodeError:
            continue
        if type(value) is Traces:
            try:
                parser._traces(value)
            except (otlp_typed.Unusual, ValueError, TypeError):
                continue
            numbers.append(number)
    return numbers


def test_the_usual_lines_are_taken_the_typed_way_with_the_general_rows() -> None:
    lines = [line(batch(*(span(n * 10 + k) for k in range(3)))) for n in range(1, 21)]
    lines.append(line(batch(span(900, events=[
        {"timeUnixNano": NANOS, "name": "exception",
         "attributes": [kv("exception.type", {"stringValue": "Timeout"})]}],
        links=[{"traceId": TRACE, "spanId": "b7ad6b7169203331"}],
        status={"code": 2, "message": "publish not confirmed"}),
        span(901, status={"code": 1, "message": ""}), span(902, kind=1, status={"code": 0}))))

    rows = same_both_ways(lines)

    assert len(rows) == 63
    assert taken(lines) == list(range(1, 22))
    assert rows[0].order_id == "ORD-00010" and rows[0].attributes == orjson.dumps({
        "retail.order_id": "ORD-00010", "http.response.status_code": 201,
        "retail.order.amount": 235.95, "retail.pos.offline_sync": False})


def test_quirky_and_broken_lines_give_the_general_rows_and_rejects() -> None:
    lines = QUIRKS + BROKEN + [
        # two value members: the general path takes the first in the text
        line(batch(span(40, attributes=[kv("two", {"intValue": "5", "stringValue": "x"})]))),
        line(batch(span(41, attributes=[kv("two", {"stringValue": None, "intValue": "5"})]))),
        line(batch(span(42, attributes=[kv("big", {"intValue": 2**63 + 5})]))),
        wide(batch(span(43, attributes=[kv("huge", {"intValue": 2**70}),
                                        kv("wide", {"doubleValue": -(2**64)})]))),
        line(batch(span(44, attributes=[kv("other", {"stringValue": "x", "foo": 1})]))),
        line(batch(span(45, status={"message": 7}, name=12))),
        line(batch(span(46, parentSpanId="ABCDEF0123456789", kind=True))),
        line(batch(span(47, events=[{"timeUnixNano": NANOS, "name": {"not": "text"}}],
                        links=[{"traceId": "zz", "spanId": 5}]))),
        line({"resourceSpans": [{"scopeSpans": None, "instrumentationLibrarySpans": [
            {"spans": [span(48)]}]}]}),
        line({"resourceSpans": [{"resource": None, "scopeSpans": [
            {"scope": None, "instrumentationLibrary": {"name": "lib"}, "spans": [span(49)]}]}]}),
        line({"resourceSpans": [{"scopeSpans": [{"instrumentationLibrary": {"name": "lib"},
                                                  "spans": [span(50)]}]}]}),
        line(batch(span(51, attributes=[kv("deep", {"arrayValue": {"values": [
            {"kvlistValue": {"values": [kv("a", {"arrayValue": {}})]}}, {}]}})]))),
        line(batch(span(52), span(53, spanId="0" * 16))),  # one span rejected: all go general
        # a number beyond a double in a member backroom does not read (orjson refuses the line)
        line(batch(span(60))).replace(b'"flags":257', b'"flags":1e400'),
        b'{"resourceSpans":[],"x":"caf\xc3\xa9","y":"\xff"}',
    ]

    same_both_ways(lines[:-2])
    # The line whose only fault is a number in a member backroom does not read is stored (the
    # general way rejects it); the one with invalid UTF-8 is rejected either way.
    typed_rows, typed_rejects = parsed(TypedOtlpParser("f.jsonl", POLICY), lines[-2:])
    assert [row.span_id for row in typed_rows] == [f"{60:016x}"]
    assert [reject.line for reject in typed_rejects] == [2]
    general_rows, general_rejects = parsed(OtlpParser("f.jsonl", POLICY), lines[-2:])
    assert general_rows == [] and [reject.line for reject in general_rejects] == [1, 2]


def test_a_line_the_typed_way_gives_up_on_is_parsed_again_in_full() -> None:
    lines = [line(batch(span(1), span(2, traceId=TRACE.upper()), span(3, kind="SPAN_KIND_CLIENT"),
                        span(4, spanId="nothex")))]

    rows = same_both_ways(lines)

    assert [row.span_id for row in rows] == [f"{n:016x}" for n in (1, 2, 3)]
    assert [row.trace_id for row in rows] == [TRACE] * 3
    assert taken(lines) == []


_VALUES = st.recursive(
    st.one_of(
        st.text(max_size=8).map(lambda text: {"stringValue": text}),
        st.integers(-(2**65), 2**65).map(lambda number: {"intValue": number}),
        st.integers(-(2**64), 2**64).map(lambda number: {"intValue": str(number)}),
        st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10, 10),
                  st.sampled_from(["NaN", "Infinity"])).map(lambda n: {"doubleValue": n}),
        st.booleans().map(lambda flag: {"boolValue": flag}),
        st.text(max_size=4).map(lambda text: {"bytesValue": text}),
        st.sampled_from([{}, None, "bare", 7, {"stringValue": None}, {"unknown": 1},
                         {"stringValue": "a", "boolValue": True}, {"boolValue": "yes"}]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda values: {"arrayValue": {"values": values}}),
        st.lists(st.tuples(st.sampled_from(["k", "l"]), inner), max_size=3).map(
            lambda pairs: {"kvlistValue": {"values": [kv(k, v) for k, v in pairs]}}),
    ),
    max_leaves=6,
)
_FIELDS = st.fixed_dictionaries({}, optional={
    "traceId": st.sampled_from([TRACE, TRACE.upper(), "0" * 32, "abc", 5, None]),
    "spanId": st.sampled_from(["00000000000000a1", "00000000000000A2", "", None]),
    "parentSpanId": st.sampled_from(["", "0" * 16, "00000000000000b1", "B1", None, 3]),
    "name": st.one_of(st.text(max_size=6), st.none(), st.integers(0, 3)),
    "kind": st.sampled_from([0, 2, 255, 256, -1, "SERVER", "span_kind_client", "7", None, 2.0]),
    "startTimeUnixNano": st.one_of(st.integers(-1, 2**65).map(str), st.integers(0, 2**64),
                                   st.floats(0, 2e19), st.sampled_from(["", "x", None])),
    "endTimeUnixNano": st.sampled_from([str(int(NANOS) + 5_000), int(NANOS), None]),
    "attributes": st.one_of(
        st.lists(st.tuples(st.sampled_from(["retail.order_id", "order.id",
                                            "messaging.message.id", "a"]), _VALUES),
                 max_size=4).map(lambda pairs: [kv(k, v) for k, v in pairs]),
        st.sampled_from([None, "nope", [{"key": 1}], ["item"]])),
    "status": st.sampled_from([{}, None, {"code": 2}, {"code": "ERROR", "message": "m"},
                               {"code": None}, {"message": ""}, {"code": 300}, "bad"]),
    "events": st.sampled_from([None, [], [{"name": "e", "timeUnixNano": NANOS}], [{}], ["x"]]),
    "links": st.sampled_from([None, [], [{"traceId": TRACE, "spanId": "00000000000000c1"}],
                              [{"traceId": None}], [5]]),
    "droppedAttributesCount": st.integers(0, 3),
})


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_FIELDS, min_size=1, max_size=4), min_size=1, max_size=4))
def test_random_lines_give_the_general_rows_and_rejects(documents: list[list[Any]]) -> None:
    lines = [wide(batch(*({"traceId": TRACE, "spanId": f"{n:016x}", **fields}
                          for n, fields in enumerate(spans, 1))))
             for spans in documents]

    same_both_ways(lines)


_SAMPLES = [line(batch(
    span(1, events=[{"timeUnixNano": NANOS, "name": "e",
                     "attributes": [kv("a", {"intValue": "5"})]}],
         links=[{"traceId": TRACE, "spanId": "b7ad6b7169203331"}],
         status={"code": 2, "message": "m"}),
    span(2, attributes=[kv("list", {"arrayValue": {"values": [{"doubleValue": 1.5}]}})]))),
    *QUIRKS[:3]]
_BYTES = b'{}[]",:0123456789.eE+-\\u truefalsn\x00\xff\xc3\xa9abcdefABCDEF'


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_SAMPLES), st.lists(st.tuples(
    st.sampled_from(["insert", "delete", "replace"]), st.integers(0, 4000),
    st.sampled_from(list(_BYTES))), min_size=1, max_size=3))
def test_damaged_lines_give_the_general_rows_and_rejects(
        sample: bytes, edits: list[tuple[str, int, int]]) -> None:
    damaged = bytearray(sample)
    for edit, place, byte in edits:
        place %= len(damaged) + 1
        if edit == "insert":
            damaged[place:place] = bytes([byte])
        elif damaged:
            place = min(place, len(damaged) - 1)
            if edit == "delete":
                del damaged[place]
            else:
                damaged[place] = byte

    text = bytes(damaged)
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "infinity" in str(exc):  # a number beyond a double: the difference the module states
            typed = parsed(TypedOtlpParser("f.jsonl", POLICY), [text])
            general = parsed(OtlpParser("f.jsonl", POLICY), [text])
            assert typed == general or (not general[0] and not typed[1])
            return
    same_both_ways([text])
