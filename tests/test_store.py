"""The store: schema and migrations, the file lock shared between processes, offline extensions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import duckdb
import pytest

from collectors import ingest_paths
from queries import Store, StoreBusy, StoreIncompatible, StoreMissing, extensions, schema

CANONICAL_TABLES = {"spans", "events", "dlq_messages", "actions", "ingest_log", "rejects"}


def _python(code: str) -> subprocess.Popen[str]:
    """Another process, as a cron job or a collector would be, talking over its stdin/stdout."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_a_new_store_has_the_canonical_tables_at_the_latest_version(store: Store) -> None:
    with store.reading() as cursor:
        tables = {row[0] for row in cursor.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall()}
        assert schema.version_of(cursor) == schema.LATEST
    assert CANONICAL_TABLES <= tables


def _format_of(path: Path) -> str:
    """The storage format a DuckDB 1.5.5 of another process (a user's own script) sees."""
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                          "WHERE NOT internal AND database_name NOT IN ('memory', 'temp')").fetchone()
    assert row is not None
    return str(row[0])


def test_a_new_store_is_written_in_the_v1_2_format_and_an_older_one_keeps_its_own(
        store: Store, tmp_path: Path) -> None:
    assert _format_of(store.path) == "v1.2.0+"  # its index is not converted at every checkpoint
    older = tmp_path / "older.duckdb"
    duckdb.connect(str(older)).close()  # made by another tool, in DuckDB's default format
    with Store.at(older).writing() as cursor:
        cursor.execute("INSERT INTO rejects (source, reason, rejected_at) VALUES ('x', 'y', now())")
    assert _format_of(older) == "v1.0.0+"  # not raised behind its owner's back


def test_reading_a_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    with (pytest.raises(StoreMissing, match="run 'backroom demo' or 'backroom ingest' first"),
          Store.at(tmp_path / "nowhere.duckdb").reading()):
        pass


def test_a_plain_duckdb_file_is_migrated_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "plain.duckdb"
    duckdb.connect(str(path)).close()
    with Store.at(path).reading() as cursor:
        assert schema.version_of(cursor) == schema.LATEST


def test_a_store_from_a_newer_backroom_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
        con.execute("INSERT INTO schema_version VALUES (999, now())")
    with (pytest.raises(StoreIncompatible, match="schema version 999, newer than"),
          Store.at(path).reading()):
        pass


def test_the_lock_holder_is_named_after_the_deadline(store: Store) -> None:
    holder = _python(f"""
        import duckdb, sys
        con = duckdb.connect({str(store.path)!r})
        print("held", flush=True)
        sys.stdin.readline()
    """)
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = Store(store.path, lock_timeout=0.2)
        with pytest.raises(StoreBusy) as caught, busy.reading():
            pass
        message = str(caught.value)
        assert f"PID {holder.pid}" in message and "gave up after 0.2 s" in message
        assert "\n" not in message
    finally:
        holder.communicate("release\n")
    with store.reading() as cursor:  # released by the other process: usable again
        assert cursor.execute("SELECT count(*) FROM spans").fetchone() == (0,)


def test_the_holder_is_named_by_its_command_line_not_its_interpreter(store: Store) -> None:
    script = store.path.with_name("backroom-ingest")
    script.write_text(textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(store.path)!r})
        print("held", flush=True)
        sys.stdin.readline()
    """))
    holder = subprocess.Popen([sys.executable, str(script), "ingest", "events\x1b[31m.jsonl"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusy) as caught, Store(store.path, lock_timeout=0.2).reading():
            pass
    finally:
        holder.communicate("release\n")
    assert f"PID {holder.pid} (backroom-ingest ingest events?[31m.jsonl) holds it" in str(
        caught.value)


def test_a_writer_and_a_reader_process_share_the_file(store: Store) -> None:
    batches = 60
    writer = _python(f"""
        import sys
        from queries import Store
        store = Store.at({str(store.path)!r}, )
        store.lock_timeout = 30
        print("ready", flush=True); sys.stdin.readline()
        for batch in range({batches}):
            with store.writing() as cur:
                cur.execute("INSERT INTO rejects (source, line, reason, rejected_at) "
                            "SELECT 'writer', range, 'test', now() FROM range(100)")
        print("wrote", {batches} * 100, flush=True)
    """)
    reader = _python(f"""
        import sys
        from queries import Store
        store = Store.at({str(store.path)!r})
        store.lock_timeout = 30
        print("ready", flush=True); sys.stdin.readline()
        seen = []
        while not seen or seen[-1] < {batches} * 100:
            with store.reading() as cur:
                seen.append(cur.execute("SELECT count(*) FROM rejects").fetchone()[0])
        print("reads", len(seen), "monotonic", seen == sorted(seen), "last", seen[-1], flush=True)
    """)
    for process in (writer, reader):
        assert process.stdout.readline().strip() == "ready"
    for process in (writer, reader):
        process.stdin.write("go\n")
        process.stdin.flush()
    writer_out, writer_err = writer.communicate(timeout=120)
    reader_out, reader_err = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer_err
    assert reader.returncode == 0, reader_err
    assert writer_out.strip() == f"wrote {batches * 100}"
    assert f"monotonic True last {batches * 100}" in reader_out


def test_a_reader_gets_its_turn_between_the_units_of_a_writer_that_never_pauses(
    store: Store,
) -> None:
    # A bulk ingest attaches again the moment a unit is committed, and DuckDB's lock does not
    # queue: without a turn for whoever waits, the console's reads gave up with "store busy"
    # (6 in 20 with 0.7 s units, median wait 3.6 s) for as long as the ingest ran.
    stop = store.path.with_name("stop")
    writer = _python(f"""
        import pathlib
        from queries import Store
        store = Store.at({str(store.path)!r})
        store.lock_timeout = 60
        units = 0
        while not pathlib.Path({str(stop)!r}).exists():
            with store.writing() as cur:  # a unit that computes for a while, as parsing does
                cur.execute("INSERT INTO rejects (source, line, reason, rejected_at) "
                            "SELECT 'writer', i, 'bulk', now() FROM (SELECT range AS i "
                            "FROM range(250000000) ORDER BY hash(range) LIMIT 1000)")
                units += 1
                if units == 1:
                    print("writing", flush=True)
        print("units", units, flush=True)
    """)
    counts = []
    try:
        assert writer.stdout.readline().strip() == "writing"
        console = Store(store.path)  # the default lock timeout, as the console has it
        for _ in range(10):
            with console.reading() as cursor:
                counts.append(cursor.execute(
                    "SELECT count(*) FROM rejects WHERE source = 'writer'").fetchone()[0])
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    units = int(out.split()[-1])
    assert counts == sorted(counts) and counts[0] >= 1000 and counts[-1] <= units * 1000
    with store.reading() as cursor:
        assert cursor.execute("SELECT count(*) FROM rejects WHERE source = 'writer'"
                              ).fetchone() == (units * 1000,)


def test_threads_of_one_process_read_while_another_writes(store: Store) -> None:
    failures: list[BaseException] = []

    def read_many() -> None:
        try:
            for _ in range(30):
                with store.reading() as cursor:
                    cursor.execute("SELECT count(*) FROM rejects").fetchone()
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            failures.append(exc)

    readers = [threading.Thread(target=read_many) for _ in range(3)]
    for thread in readers:
        thread.start()
    for batch in range(30):
        with store.writing() as cursor:
            cursor.execute("INSERT INTO rejects (source, line, reason, rejected_at) "
                           "VALUES ('t', $n, 'x', now())", {"n": batch})
    for thread in readers:
        thread.join()
    assert failures == []
    with store.reading() as cursor:
        assert cursor.execute("SELECT count(*) FROM rejects").fetchone() == (30,)


def test_a_failed_unit_of_work_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.writing() as cursor:
        cursor.execute("INSERT INTO rejects (source, reason, rejected_at) VALUES ('x', 'y', now())")
        raise RuntimeError("collector crashed mid-batch")
    with store.reading() as cursor:
        assert cursor.execute("SELECT count(*) FROM rejects").fetchone() == (0,)


def test_fts_loads_from_its_wheel_with_downloads_off(store: Store) -> None:
    store.load_extension("fts")
    with store.writing() as cursor:
        assert cursor.execute(
            "SELECT current_setting('autoinstall_known_extensions')").fetchone() == (False,)
        cursor.execute("CREATE TABLE notes (id VARCHAR, body VARCHAR)")
        cursor.execute("INSERT INTO notes VALUES ('a', 'ERP timeout on salesorders'), ('b', 'ok')")
        cursor.execute("PRAGMA create_fts_index('notes', 'id', 'body')")
    with store.reading() as cursor:
        hits = cursor.execute(
            "SELECT id FROM (SELECT id, fts_main_notes.match_bm25(id, 'timeout') AS score FROM notes) "
            "WHERE score IS NOT NULL").fetchall()
    assert hits == [("a",)]
    installed = list(extensions.directory().rglob("fts.duckdb_extension"))
    assert len(installed) == 1 and str(extensions.home()) in str(installed[0])


def test_threads_that_first_write_a_new_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    # `collect --rabbitmq … --follow …` on a new store: two sources' first writes met, both
    # migrated, and one died on "Duplicate key version: 2" with a traceback on the terminal.
    store = Store.at(tmp_path / "new.duckdb")
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def first_write() -> None:
        start.wait()
        try:
            with store.writing() as cursor:
                cursor.execute("SELECT count(*) FROM events").fetchone()
        except BaseException as exc:  # noqa: BLE001 (the test reports whatever a thread met)
            failures.append(exc)

    threads = [threading.Thread(target=first_write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with store.reading() as cursor:
        assert schema.version_of(cursor) == schema.LATEST
        versions = cursor.execute("SELECT count(*), count(DISTINCT version) FROM schema_version").fetchone()
    assert versions is not None and versions[0] == versions[1]  # each migration applied once


def test_a_store_made_before_spans_lost_their_key_keeps_every_row(
        tmp_path: Path) -> None:
    path = tmp_path / "before.duckdb"
    trace = "7a3c9e0f4b2d41c8a1f0e2d3c4b5a697"
    with duckdb.connect(str(path)) as old:  # a store as backroom left it at schema version 6
        old.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                    "applied_at TIMESTAMPTZ NOT NULL)")
        for version, text in schema.MIGRATIONS:
            if version <= 6:
                old.execute(text)
                old.execute("INSERT INTO schema_version VALUES ($v, now())", {"v": version})
        old.execute("INSERT INTO spans (trace_id, span_id, name) VALUES ($t, '0000000000000001', "
                    "'kept')", {"t": trace})
        old.execute("INSERT INTO events (event_id, source, type) VALUES ('e-1', '/pos/store/7', "
                    "'order.captured')")
    span = {"traceId": trace, "name": "sent again", "startTimeUnixNano": "1767225600000000000"}
    traces = tmp_path / "traces.jsonl"
    traces.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {**span, "spanId": "0000000000000001"}, {**span, "spanId": "0000000000000002"}]}]}]}) + "\n")
    event = {"specversion": "1.0", "source": "/pos/store/7", "type": "order.captured"}
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({**event, "id": key}) + "\n" for key in ("e-1", "e-2")))
    store = Store.at(path)

    again = ingest_paths(store, [traces, events])

    assert again.rows["spans"] == 1 and again.rows["events"] == 1
    assert again.skipped_duplicates == 2  # a span and an event stored before
    with store.reading() as cursor:
        assert cursor.execute("SELECT span_id, name FROM spans ORDER BY span_id").fetchall() == [
            ("0000000000000001", "kept"), ("0000000000000002", "sent again")]
        assert cursor.execute("SELECT event_id FROM events ORDER BY event_id").fetchall() == [
            ("e-1",), ("e-2",)]
        assert cursor.execute(
            "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
            "AND table_name IN ('spans', 'events')").fetchall() == [("events",)]
