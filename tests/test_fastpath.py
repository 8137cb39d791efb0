"""The DuckDB fast path for CloudEvents gives the Python path's rows, rejects and counts."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectors import fastpath, ingest_paths
from collectors.reports import IngestReport
from queries import Store
from queries.policy import Policy, document, load, parse

COLUMNS = (
    "event_id, source, type, state, system, channel, order_id, order_name, customer_email, "
    "store_id, sku, quantity, amount, currency, movement_id, movement_kind, applied_system, "
    "occurred_at, recorded_at, trace_id, parent_span_id, traceparent, traceparent_valid, "
    "payload::VARCHAR"
)


@pytest.fixture
def policy() -> Policy:
    return load()


def event(n: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "specversion": "1.0", "id": f"ev-{n}", "source": "/pos/store/0042",
        "type": "order.captured", "subject": f"ORD-{n:05d}", "time": "2026-12-02T10:00:10.674Z",
        "datacontenttype": "application/json",
        "traceparent": "00-8f0be21124179c3dd9f73817ce6e118d-af94acd3cf92c190-01",
        "channel": "pos", "recordedtime": "2026-12-02T10:00:11.871Z",
        "data": {"order_id": f"ORD-{n:05d}", "order_name": f"#{n}", "customer_email": None,
                 "store_id": "0042", "sku": "KD-1", "quantity": 2, "amount": 235.95,
                 "currency": "EUR"},
    }
    body.update(changes)
    return body


def line(value: Any) -> bytes:
    return orjson.dumps(value)


# Keys given twice: one the SQL reads (top level, in data) and one it does not.
TWICE: list[bytes] = [
    b'{"specversion":"1.0","id":"ev-32","source":"/erp/d365","type":"x","id":"ev-32b"}',
    (b'{"specversion":"1.0","id":"ev-33","source":"/erp/d365","type":"x",'
     b'"data":{"sku":"first","sku":"second","other":1,"other":2}}'),
    b'{"specversion":"1.0","id":"ev-34","source":"/erp/d365","type":"x","extra":1,"extra":2}',
]
QUIRKS: list[bytes] = [
    line(event(1)),
    line(event(2, traceparent="00-8F0BE21124179C3DD9F73817CE6E118D-AF94ACD3CF92C190-01")),
    line(event(3, recordedtime=None)),
    line({k: v for k, v in event(4).items() if k != "recordedtime"}),
    line(event(5, time="2026-12-02T11:00:10+01:00", recordedtime="2026-12-02T05:00:11-05:00")),
    line(event(6, time="2026-12-02T10:00:10", recordedtime="2026-12-02T10:00:10.123456789Z")),
    line(event(7, time="2026-12-02 10:00:10Z", recordedtime="not a time")),
    line([event(8), event(9, type="invoice.posted", source="/erp/d365")]),
    line({**{k: v for k, v in event(10).items() if k != "data"},
          "data_base64": base64.b64encode(orjson.dumps({"order_id": "ORD-B64"})).decode()}),
    line(event(11, traceparent="ff-8f0be21124179c3dd9f73817ce6e118d-af94acd3cf92c190-01")),
    line(event(12, traceparent="00-00000000000000000000000000000000-af94acd3cf92c190-01")),
    line(event(13, traceparent="not-a-traceparent")),
    line(event(14, traceparent=" 00-8f0be21124179c3dd9f73817ce6e118d-af94acd3cf92c190-01 ")),
    line(event(15, source="https://shop.example/shopify/acme", channel="  ")),
    line(event(16, subject=None, channel=42)),
    line(event(17, subject="", data={"order_id": 1042, "quantity": "3", "amount": "19.99"})),
    line(event(18, data={"quantity": 2.0, "amount": 1.005, "sku": True, "store_id": 42})),
    line(event(19, data={"quantity": 2**40, "amount": 10**17, "kind": "sale"})),
    line(event(20, data=["not", "an", "object"])),
    line(event(21, data="a string", type="unknown.type", source="/WMS/dc1")),
    line(event(22, specversion="0.3")),
    line(event(23, id=12345)),
    line(event(24, customer_email="a@b.example", data={"customer_email": "ana@example.com",
                                                       "order_name": "caf\u00e9 \"quoted\""})),
    b'{"specversion":"1.0", "id":"ev-25", "source":"/erp/d365", "type":"invoice.posted"}  ',
    b'  {"specversion":"1.0","id":"ev-26","source":"/erp/d365","type":"invoice.posted"}',
    (b'{"specversion":"1.0","id":"ev-27","source":"/erp/d365","type":"invoice.posted",'
     b'"data":{"order_name":"\\u00e9\\/x","amount":1e2}}'),
    line(event(28, time="2026-12-02T24:00:00Z", recordedtime="0001-01-01T00:00:00+01:00")),
    line(event(29, data={"order_id": "\u2003", "store_id": "\u00a0x"})),
    line(event(30, data={"amount": 1234567890123456.78, "quantity": 3})),
    line(event(31, data={"amount": 1234567890123.45, "sku": "a,}b", "kind": "x, NaN"})),
    *TWICE,
    line(event(35, data={"nested": [[[[{"deep": "x" * 3000}]]]], "amount": "12.50"})),
    line(event(1)),  # a duplicate of the first line
]
BROKEN: list[bytes] = [
    b"{broken",
    b'{"specversion":"1.0","id":"ev-b1","source":"/pos/store/1","type":"order.captured",}',
    b'{"specversion":"1.0","id":"ev-b2","source":"/pos/store/1","type":"x","data":{"a":NaN}}',
    b'{"specversion":"1.0","id":"ev-b3","source":"/pos/store/1","type":"x","data":"\xff\xfe"}',
    b'{"specversion":"1.0","id":"ev-b4","source":"/pos\x00/store/1","type":"x"}',
    b'{"specversion":"1.0","source":"/pos/store/1","type":"order.captured"}',
    b'{"specversion":"2.0","id":"ev-b5","source":"/pos/store/1","type":"x"}',
    b"[1, 2]",
    b'"just a string"',
    b"",
    b"   ",
    b'{"a":1}\x01{"b":2}',
    b'{"specversion":"1.0","id":"ev-b6","source":"/pos/store/1","type":"x","data":{"a":1e400}}',
    b'{"specversion":"1.0","id":"ev-b7","source":"/pos/store/1","type":"x","n":' + b"9" * 400
    + b"}",
    b'{"specversion":"1.0","id":"ev-b8","source":"/pos/store/1","type":"x","data":'
    + b"[" * 1100 + b"]" * 1100 + b"}",
    b'{"specversion":"1.0","id":"ev-b9","source":"/pos/store/1","type":"x","data":{"a":-Infinity}}',
    b'{"specversion":"1.0","id":"ev-b10","source":"/pos/store/1","type":"x","data":{"a":[1, ]}}',
]


def write(path: Path, lines: list[bytes], end: bytes = b"\n") -> Path:
    path.write_bytes(b"\n".join(lines) + end)
    return path


def both_ways(tmp_path: Path, name: str, policy: Policy) -> tuple[
        tuple[IngestReport, list[Any], list[Any]], tuple[IngestReport, list[Any], list[Any]]]:
    source = tmp_path / name
    results = []
    for fast in (True, False):
        store = Store.at(tmp_path / f"{'fast' if fast else 'slow'}.duckdb")
        report = ingest_paths(store, [source], policy=policy, fast_path=fast)
        with store.reading() as cursor:
            rows = cursor.execute(f"SELECT {COLUMNS} FROM events ORDER BY ALL").fetchall()
            rejects = cursor.execute(
                "SELECT source, line, byte_offset, reason, excerpt FROM rejects ORDER BY ALL"
            ).fetchall()
        results.append((report, rows, rejects))
    return results[0], results[1]


def taken_by_sql(store: Store, path: Path, policy: Policy, ingest_id: int = 1) -> fastpath.FastResult:
    """What the fast path's SQL takes of `path` and leaves to Python; nothing is kept."""
    layout = fastpath.usable(path, path.read_bytes(), policy)
    assert layout is not None
    with store.writing() as cursor:
        result = fastpath.load_events(cursor, path, policy, ingest_id, layout)
        cursor.execute("ROLLBACK")
        cursor.execute("BEGIN TRANSACTION")
    return result


def counts(report: IngestReport) -> tuple[int, int, int, int]:
    return report.records, report.rows["events"], report.skipped_duplicates, report.rejects


def test_quirky_valid_input_gives_identical_rows(tmp_path: Path, policy: Policy) -> None:
    write(tmp_path / "quirks.jsonl", QUIRKS)

    (fast, fast_rows, _), (slow, slow_rows, _) = both_ways(tmp_path, "quirks.jsonl", policy)

    assert fast_rows == slow_rows
    assert counts(fast) == counts(slow)
    assert fast.records == fast.rows["events"] + fast.skipped_duplicates + fast.rejects
    assert fast.skipped_duplicates == 1


def test_a_mixed_file_gives_identical_rows_rejects_and_counts(tmp_path: Path,
                                                               policy: Policy) -> None:
    # Every broken line but the control byte, which sends a file to Python whole (its own test):
    # the fast path lines this file up, and DuckDB's reader drops the lines that are not UTF-8.
    broken = [bad for bad in BROKEN if b"\x01" not in bad]
    lines = [line(event(n)) for n in range(100, 400)]
    for offset, bad in enumerate(broken + QUIRKS):
        lines.insert(7 * offset + 3, bad)
    path = write(tmp_path / "mixed.jsonl", lines, end=b"")  # the last line has no newline
    not_utf8 = [number for number, text in enumerate(lines, 1) if b"\xff" in text]

    result = taken_by_sql(Store.at(tmp_path / "probe.duckdb"), path, policy)
    (fast, fast_rows, fast_rejects), (slow, slow_rows, slow_rejects) = both_ways(
        tmp_path, "mixed.jsonl", policy)

    assert result.inserted >= 300 and set(not_utf8) <= set(result.slow_lines)

    assert fast_rows == slow_rows
    assert fast_rejects == slow_rejects
    assert len(fast_rejects) >= len(BROKEN) - 3  # blank lines are no records at all
    assert counts(fast) == counts(slow)
    assert fast.records == fast.rows["events"] + fast.skipped_duplicates + fast.rejects


@pytest.mark.parametrize("hashes", [None, ("0", "0"), ("1", "0")],
                         ids=["real-hashes", "all-equal", "none-equal"])
def test_broken_lines_among_clean_ones_are_named_even_when_hashes_collide(
        tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch,
        hashes: tuple[str, str] | None) -> None:
    """Lines left out are named by hash first; a hash shared by chance must not hide one."""
    if hashes is not None:
        planned = fastpath.plan_for(policy)
        assert planned is not None
        line_hash, payload_hash = hashes  # every line collides with a payload, or none matches
        colliding = dataclasses.replace(planned, check_hashed=planned.check_hashed.replace(
            "hash(l.line)", f"(hash(l.line) * 0 + {line_hash})").replace(
            "hash(payload::VARCHAR)", f"(hash(payload::VARCHAR) * 0 + {payload_hash})"))
        monkeypatch.setattr(fastpath, "plan_for", lambda _policy: colliding)
    # Broken lines DuckDB's line reader sees as Python does (no NUL, 0x01 or invalid UTF-8).
    broken = [bad for bad in BROKEN if bad.isascii() and bad.decode().isprintable() and bad.strip()]
    lines = [line(event(n)) for n in range(100, 160)]
    for offset, bad in enumerate(broken):
        lines.insert(3 * offset + 1, bad)
    path = write(tmp_path / "mixed.jsonl", lines)

    result = taken_by_sql(Store.at(tmp_path / "probe.duckdb"), path, policy)
    (fast, fast_rows, fast_rejects), (slow, slow_rows, slow_rejects) = both_ways(
        tmp_path, "mixed.jsonl", policy)

    assert (result.inserted, result.slow_lines) == (60, [3 * n + 2 for n in range(len(broken))])
    assert fast_rows == slow_rows and len(fast_rows) == 60
    assert fast_rejects == slow_rejects and len(fast_rejects) >= len(broken)  # [1, 2] gives 2
    assert counts(fast) == counts(slow)


def test_broken_lines_keep_their_line_numbers_and_reasons(tmp_path: Path, policy: Policy,
                                                          store: Store) -> None:
    lines = [line(event(1)), b"{broken", line(event(2)), b'{"specversion":"1.0"}', line(event(3))]
    path = write(tmp_path / "broken.jsonl", lines)

    report = ingest_paths(store, [path], policy=policy)

    with store.reading() as cursor:
        rejects = cursor.execute("SELECT line, byte_offset, reason FROM rejects ORDER BY line"
                                 ).fetchall()
    assert report.rows["events"] == 3
    assert [(line_no, offset) for line_no, offset, _ in rejects] == [
        (2, len(lines[0]) + 1), (4, sum(len(x) + 1 for x in lines[:3]))]
    assert rejects[0][2].startswith("invalid JSON")
    assert rejects[1][2] == "missing required attribute 'id'"


def test_the_fast_path_takes_clean_lines_and_leaves_the_rest(tmp_path: Path, policy: Policy,
                                                             store: Store) -> None:
    path = write(tmp_path / "events.jsonl", [line(event(1)), line([event(2)]), b"{broken",
                                             line(event(3))])
    result = taken_by_sql(store, path, policy)

    assert (result.taken, result.inserted, result.slow_lines) == (2, 2, [2, 3])


def left_to_python_in_place(tmp_path: Path, policy: Policy, store: Store, name: str,
                            lines: list[bytes], numbers: list[int], inserted: int,
                            end: bytes = b"\n") -> IngestReport:
    """Check that the fast path leaves the lines `numbers` to Python at their places (numbers
    and byte offsets) and stores what the Python path stores; the fast way's report."""
    path = write(tmp_path / name, lines, end=end)
    starts = [sum(len(x) + 1 for x in lines[:n - 1]) for n in numbers]

    result = taken_by_sql(store, path, policy)
    (fast, fast_rows, fast_rejects), (slow, slow_rows, slow_rejects) = both_ways(
        tmp_path, name, policy)

    assert (result.inserted, result.slow_lines) == (inserted, numbers)
    assert result.slow_offsets == starts
    assert fast_rows == slow_rows and len(fast_rows) == inserted
    assert fast_rejects == slow_rejects
    assert counts(fast) == counts(slow)
    assert [(reject[1], reject[2]) for reject in fast_rejects] == list(zip(numbers, starts,
                                                                           strict=True))
    return fast


def test_lines_left_out_of_a_file_with_a_byte_order_mark_keep_their_places(
        tmp_path: Path, policy: Policy, store: Store) -> None:
    lines = [b"\xef\xbb\xbf{broken", line(event(1)), b"{broken too", line(event(2)),
             b'{"specversion":"1.0"}']

    left_to_python_in_place(tmp_path, policy, store, "bom.jsonl", lines, [1, 3, 5], inserted=2)


def test_files_the_sql_cannot_line_up_are_read_in_python(tmp_path: Path, policy: Policy) -> None:
    crlf = write(tmp_path / "crlf.jsonl", [line(event(1)), line(event(2))], end=b"\r\n")
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    dotted = parse({**document(policy), "correlation": {
        "order_id": ["data.order.id"], "message_id": policy.correlation.message_id}})

    assert fastpath.usable(crlf, crlf.read_bytes(), policy) is None
    assert fastpath.plan_for(dotted) is None
    (fast, fast_rows, _), (_, slow_rows, _) = both_ways(tmp_path, "crlf.jsonl", policy)
    assert fast_rows == slow_rows and fast.rows["events"] == 2


def test_lines_of_different_text_with_one_key_give_the_python_rows(tmp_path: Path,
                                                                    policy: Policy) -> None:
    first, second = line(event(1, channel="pos")), line(event(1, channel="ecommerce"))
    odd = line(event(1, channel="bopis", time="2026-12-02 10:00:10Z"))  # Python's to read
    for name, lines in {
        "both-fast": [first, second],
        "slow-first": [odd, first],
        "fast-first": [first, odd],
        "same-text": [first, first, line(event(2))],
    }.items():
        write(tmp_path / f"{name}.jsonl", lines)
        (fast, fast_rows, _), (slow, slow_rows, _) = both_ways(tmp_path, f"{name}.jsonl", policy)
        assert fast_rows == slow_rows, name
        assert counts(fast) == counts(slow), name


def test_events_stored_by_an_earlier_file_count_as_duplicates_without_python(
        tmp_path: Path, policy: Policy) -> None:
    write(tmp_path / "first.jsonl", [line(event(n)) for n in range(1, 6)])
    later = write(tmp_path / "later.jsonl", [
        *(line(event(n)) for n in range(1, 9)),
        line(event(1)),  # stored before, and repeated in this file
        line(event(2, channel="ecommerce")),  # a stored key with other text: Python's to judge
        b"{broken",
    ])
    results = []
    for fast in (True, False):
        store = Store.at(tmp_path / f"{'fast' if fast else 'slow'}.duckdb")
        ingest_paths(store, [tmp_path / "first.jsonl"], policy=policy, fast_path=fast)
        if fast:
            result = taken_by_sql(store, later, policy, ingest_id=99)
            # the six repeated lines are the SQL's duplicates; only the last two need Python
            assert (result.taken, result.inserted, result.slow_lines) == (9, 3, [10, 11])
        report = ingest_paths(store, [later], policy=policy, fast_path=fast)
        with store.reading() as cursor:
            rows = cursor.execute(f"SELECT {COLUMNS} FROM events ORDER BY ALL").fetchall()
            rejects = cursor.execute("SELECT line, reason FROM rejects").fetchall()
        results.append((counts(report), rows, rejects))

    assert results[0] == results[1]
    assert results[0][0] == (11, 3, 7, 1)  # records, rows, duplicates, rejects
    assert results[0][2] == [(11, results[0][2][0][1])]


def test_keys_read_twice_and_lax_json_are_left_to_python(tmp_path: Path, policy: Policy,
                                                         store: Store) -> None:
    lines = [line(event(1)), *TWICE, BROKEN[-2], BROKEN[-1], BROKEN[-3],
             line(event(2, data={"sku": "a,}b"})),  # looks lax: Python's, only slower
             # beyond a double's digits: in the fraction, and in a zero-padded exponent
             b'{"specversion":"1.0","id":"ev-40","source":"/s","type":"x","data":{"a":0.'
             + b"1" * 250 + b"}}",
             b'{"specversion":"1.0","id":"ev-41","source":"/s","type":"x","data":{"a":[1e'
             + b"0" * 250 + b"5]}}"]
    result = taken_by_sql(store, write(tmp_path / "twice.jsonl", lines), policy)

    # ev-34's twice-given key is one the SQL does not read, so the SQL takes that line.
    assert result.slow_lines == [2, 3, 5, 6, 7, 8, 9, 10]


def test_a_file_with_a_control_byte_is_read_in_python(tmp_path: Path, policy: Policy) -> None:
    path = write(tmp_path / "control.jsonl", [line(event(1)), b'{"a":1}\x01{"b":2}'])

    assert fastpath.usable(path, path.read_bytes(), policy) is None


def test_lines_that_are_not_utf8_go_to_python_and_the_rest_stays_in_sql(
        tmp_path: Path, policy: Policy, store: Store) -> None:
    lines = [b"\xef\xbb\xbf" + line(event(1))[:-1] + b',"x":"\xff"}', line(event(2)),
             line(event(3, data={"order_name": "caf\u00e9"})), b'{"note":"caf\xc3"}',
             line(event(4)), line(event(5))[:-1] + b',"x":"\xed\xa0\x80"}']

    fast = left_to_python_in_place(tmp_path, policy, store, "latin.jsonl", lines, [1, 4, 6],
                                   inserted=3, end=b"")  # the last line has no newline

    assert counts(fast) == (6, 3, 0, 3)
