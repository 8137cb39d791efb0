"""Ingest throughput: backroom vs DuckDB's read_json + INSERT, and vs a per-line Python loader."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from benchkit import fresh, show, timed

from collectors import fastpath, ingest_paths
from queries import Store
from queries.policy import load as load_policy

EVENTS = 2_000_000
SPANS = 1_000_000
LOOP_SAMPLE = 50_000
# DuckDB's own reader, given every CloudEvents attribute the table keeps, straight into `events`.
NATIVE = """
INSERT INTO events (event_id, source, type, channel, order_id, occurred_at, recorded_at,
                    traceparent, payload)
SELECT id, source, type, channel, subject, time, recordedtime, traceparent, data
FROM read_json($path, format = 'newline_delimited', ignore_errors = $lenient,
               columns = {specversion: 'VARCHAR', id: 'VARCHAR', source: 'VARCHAR',
                          type: 'VARCHAR', subject: 'VARCHAR', time: 'TIMESTAMPTZ',
                          recordedtime: 'TIMESTAMPTZ', traceparent: 'VARCHAR',
                          channel: 'VARCHAR', data: 'JSON'})
"""

# DuckDB alone filling every column backroom stores (payload the whole event, as backroom keeps
# it), with nothing checked: what the 0.8x target would mean if it were set against the same rows.
SAME_ROWS = """
INSERT INTO events BY NAME
SELECT e.id AS event_id, e.source, e.type, CASE e.type /*STATE*/ END AS state,
       CASE lower(split_part(trim(e.source, '/'), '/', 1))
           WHEN 'pos' THEN 'pos' WHEN 'shopify' THEN 'ecommerce' WHEN 'storefront' THEN 'ecommerce'
           WHEN 'ecommerce' THEN 'ecommerce' WHEN 'erp' THEN 'erp' WHEN 'wms' THEN 'wms'
           WHEN 'payments' THEN 'payment' WHEN 'payment' THEN 'payment'
           WHEN 'middleware' THEN 'middleware' END AS system,
       e.channel, e.subject AS order_id, e.data.order_name, e.data.customer_email,
       e.data.store_id, e.data.sku, e.data.quantity, e.data.amount, e.data.currency,
       e.data.movement_id, e.data.kind AS movement_kind, e.data.system AS applied_system,
       coalesce(e.time, e.recordedtime) AS occurred_at, e.recordedtime AS recorded_at,
       substr(e.traceparent, 4, 32) AS trace_id, substr(e.traceparent, 37, 16) AS parent_span_id,
       e.traceparent, CASE WHEN e.traceparent IS NOT NULL THEN true END AS traceparent_valid,
       line AS payload
FROM (SELECT json AS line, json_transform(json, '{"id": "VARCHAR", "source": "VARCHAR",
        "type": "VARCHAR", "channel": "VARCHAR", "subject": "VARCHAR", "time": "TIMESTAMPTZ",
        "recordedtime": "TIMESTAMPTZ", "traceparent": "VARCHAR", "data": {"order_name": "VARCHAR",
        "customer_email": "VARCHAR", "store_id": "VARCHAR", "sku": "VARCHAR",
        "quantity": "INTEGER", "amount": "DECIMAL(18,2)", "currency": "VARCHAR",
        "movement_id": "VARCHAR", "kind": "VARCHAR", "system": "VARCHAR"}}') AS e
      FROM read_json_objects($path, format = 'newline_delimited'))
"""


def events_file(estate: Path, work: Path, broken_every: int = 0, latin_every: int = 0) -> Path:
    """2M one-event lines from the estate (batch lines left out); every Nth line broken, or
    written with a Latin-1 byte (not UTF-8)."""
    name = f"events-2m{'-broken' if broken_every else ''}{'-latin' if latin_every else ''}.jsonl"
    target = work / name
    if target.exists():
        return target
    written = 0
    # Written under another name and renamed when whole: a run stopped half-way (a full disk was
    # one) must not leave a short file for the next run to take.
    part = target.with_suffix(".part")
    with part.open("wb") as out:
        for source in sorted((estate / "events").glob("*.jsonl")):
            with source.open("rb") as handle:
                for line in handle:
                    if not line.startswith(b"{"):
                        continue
                    written += 1
                    broken = broken_every and written % broken_every == 0
                    if latin_every and written % latin_every == 0:
                        line = line.replace(b'"type":"', b'"type":"\xe9', 1)
                    out.write(b'{"specversion":"1.0","id":' + line[25:60] + b"\n" if broken
                              else line)
                    if written == EVENTS:
                        break
            if written == EVENTS:
                break
    part.rename(target)
    return target


def new_store(path: Path) -> Store:
    store = Store(fresh(path))
    with store.writing():
        pass  # creates the schema
    return store


def native(store: Store, source: Path, lenient: bool = False) -> int:
    with store.writing() as cursor:
        cursor.execute(NATIVE, {"path": str(source), "lenient": lenient})
        count = cursor.execute("SELECT count(*) FROM events").fetchone()
    with store.writing(transaction=False) as cursor:
        cursor.execute("CHECKPOINT")
    return int(count[0]) if count else 0


def same_rows(store: Store, source: Path) -> int:
    states = " ".join(f"WHEN {fastpath.literal(kind)} THEN {fastpath.literal(state)}"
                      for kind, state in load_policy().states.items())
    with store.writing() as cursor:
        cursor.execute(SAME_ROWS.replace("/*STATE*/", states), {"path": str(source)})
        count = cursor.execute("SELECT count(*) FROM events").fetchone()
    with store.writing(transaction=False) as cursor:
        cursor.execute("CHECKPOINT")
    return int(count[0]) if count else 0


def backroom(store: Store, source: Path, **options: Any) -> int:
    report = ingest_paths(store, [source], **options)
    with store.writing(transaction=False) as cursor:
        cursor.execute("CHECKPOINT")
    return sum(report.rows.values())


def columns_only(source: Path) -> int:
    """The fast path's SQL with nothing stored: every line read, judged and its columns computed."""
    plan = fastpath.plan_for(load_policy())
    assert plan is not None
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(plan.macros)
        row = con.execute(f"SELECT count(*), sum(hash(COLUMNS(* EXCLUDE (line, fast)))) "
                          f"FROM ({plan.lines}) WHERE fast",
                          {"path": str(source), "longest": fastpath.EVENT_LINE_BYTES}).fetchone()
    return int(row[0]) if row else 0


def python_loop(store: Store, source: Path, limit: int) -> int:
    """The straightforward loader: json.loads per line, executemany in one transaction."""
    rows = []
    with source.open("rb") as handle:
        for line in handle:
            event = json.loads(line)
            rows.append((event["id"], event["source"], event["type"], event.get("channel"),
                         event.get("subject"), event.get("time"), event.get("recordedtime"),
                         event.get("traceparent"), json.dumps(event.get("data"))))
            if len(rows) == limit:
                break
    with store.writing() as cursor:
        cursor.executemany(
            "INSERT INTO events (event_id, source, type, channel, order_id, occurred_at, "
            "recorded_at, traceparent, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def test_clean_cloudevents_ingest(estate: Path, work: Path) -> None:
    source = events_file(estate, work)
    native_s, native_rows = timed(lambda: native(new_store(work / "native.duckdb"), source))
    ours_s, ours_rows = timed(lambda: backroom(new_store(work / "backroom.duckdb"), source))
    sql_s, sql_rows = timed(lambda: columns_only(source))
    same_s, same_n = timed(lambda: same_rows(new_store(work / "same-rows.duckdb"), source))
    loop_s, loop_rows = timed(
        lambda: python_loop(new_store(work / "loop.duckdb"), source, LOOP_SAMPLE))
    loop_full = loop_s * EVENTS / int(loop_rows)  # type: ignore[call-overload]
    show(f"clean CloudEvents, {EVENTS:,} events, {source.stat().st_size / 1e6:.0f} MB", [
        ("DuckDB read_json + INSERT (baseline)", native_s, f"{native_rows:,} rows"),
        ("backroom ingest", ours_s,
         f"{ours_rows:,} rows, {native_s / ours_s:.2f}x of read_json (target >= 0.8)"),
        ("its fast-path SQL alone: columns computed, nothing stored", sql_s,
         f"{sql_rows:,} rows, {native_s / sql_s:.2f}x of read_json + INSERT"),
        ("DuckDB alone storing the same rows and payload, unchecked", same_s,
         f"{same_n:,} rows; backroom runs at {same_s / ours_s:.2f}x of it"),
        (f"json.loads + executemany, {LOOP_SAMPLE:,} lines, extrapolated", loop_full,
         f"backroom is {loop_full / ours_s:.0f}x faster (target >= 20)"),
    ])


def against_the_clean_file(estate: Path, work: Path, title: str, what: str, target: str,
                           **damage: int) -> None:
    """Ingest a damaged copy of the 2M-event file, against read_json of the clean one."""
    clean = events_file(estate, work)
    damaged = events_file(estate, work, **damage)
    native_s, _ = timed(lambda: native(new_store(work / "native.duckdb"), clean))
    ours_s, ours_rows = timed(lambda: backroom(new_store(work / "backroom.duckdb"), damaged))
    show(title, [
        ("DuckDB read_json + INSERT on the clean file (baseline)", native_s, ""),
        (f"backroom ingest of the {what} file", ours_s,
         f"{ours_rows:,} rows, {native_s / ours_s:.2f}x of read_json{target}"),
    ])


def test_cloudevents_with_one_percent_broken_lines(estate: Path, work: Path) -> None:
    against_the_clean_file(estate, work, "CloudEvents with 1% broken lines", "broken",
                           " (target >= 0.35)", broken_every=100)


def test_cloudevents_with_lines_that_are_not_utf8(estate: Path, work: Path) -> None:
    against_the_clean_file(estate, work,
                           "CloudEvents with 0.1% of lines in Latin-1 (not UTF-8, rejected)",
                           "Latin-1", "", latin_every=1000)


def test_gzip_cloudevents_ingest(estate: Path, work: Path) -> None:
    """The 2M-event file gzipped, as rotated logs are: unpacked beside the store for the fast
    path, against DuckDB's read_json of the same .gz and against the Python path reading the
    gzip stream (what backroom did before)."""
    clean = events_file(estate, work)
    packed = work / "events-2m.jsonl.gz"
    if not packed.exists():
        part = packed.with_suffix(".part")
        with clean.open("rb") as source, gzip.open(part, "wb", compresslevel=1) as out:
            shutil.copyfileobj(source, out, 8 * 1024 * 1024)
        part.rename(packed)
    native_s, _ = timed(lambda: native(new_store(work / "native.duckdb"), packed))
    ours_s, ours_rows = timed(lambda: backroom(new_store(work / "backroom.duckdb"), packed))
    python_s, _ = timed(lambda: backroom(new_store(work / "python.duckdb"), packed,
                                         fast_path=False))
    show(f"CloudEvents gzip, {packed.stat().st_size / 1e6:.0f} MB", [
        ("DuckDB read_json + INSERT of the .gz (baseline)", native_s, ""),
        ("backroom ingest (unpacked for the fast path)", ours_s,
         f"{ours_rows:,} rows, {native_s / ours_s:.2f}x of read_json"),
        ("backroom ingest, the Python path reading the gzip stream", python_s,
         f"{native_s / python_s:.2f}x of read_json; unpacking {python_s / ours_s:.2f}x faster"),
    ])


def spans_file(estate: Path, work: Path) -> tuple[Path, int]:
    """About 1M spans of estate OTLP lines."""
    target = work / "traces-1m.jsonl"
    if not target.exists():
        part = target.with_suffix(".part")
        with part.open("wb") as out:
            spans = 0
            for source in sorted((estate / "traces").glob("*.jsonl")):
                with source.open("rb") as handle:
                    for line in handle:
                        out.write(line)
                        spans += line.count(b'"spanId"')
                        if spans >= SPANS:
                            break
                if spans >= SPANS:
                    break
        part.rename(target)
    return target, SPANS


def test_otlp_ingest(estate: Path, work: Path) -> None:
    if not (estate / "traces").is_dir():
        pytest.skip("no traces in the estate")
    source, _ = spans_file(estate, work)
    con = duckdb.connect()
    native_s, spans = timed(lambda: con.execute(
        "SELECT count(*) FROM (SELECT unnest(ss.spans) FROM (SELECT unnest(rs.scopeSpans) AS ss "
        "FROM (SELECT unnest(resourceSpans) AS rs FROM read_json($path, format = "
        "'newline_delimited', columns = {resourceSpans: 'STRUCT(resource JSON, scopeSpans "
        "STRUCT(scope JSON, spans JSON[])[])[]'}))))", {"path": str(source)}).fetchall()[0][0])
    ours_s, ours_rows = timed(lambda: backroom(new_store(work / "spans.duckdb"), source))
    alone_s, alone_rows = timed(lambda: backroom(new_store(work / "spans-alone.duckdb"), source,
                                                 parallel_bytes=None))
    sql_s, sql_rows = timed(lambda: backroom(new_store(work / "spans-sql.duckdb"), source,
                                             otlp_fast_path=True))
    show(f"OTLP JSON, {spans:,} spans", [
        ("DuckDB read_json of the same file, spans unnested (baseline)", native_s, ""),
        ("backroom ingest", ours_s,
         f"{ours_rows:,} rows, {native_s / ours_s:.2f}x of read_json (target >= 0.5)"),
        ("backroom ingest parsing on one process (parallel_bytes=None)", alone_s,
         f"{alone_rows:,} rows, {native_s / alone_s:.2f}x of read_json"),
        ("backroom ingest with the SQL fast path (otlp_fast_path)", sql_s,
         f"{sql_rows:,} rows, {native_s / sql_s:.2f}x of read_json"),
    ])
