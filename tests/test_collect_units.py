"""Units of work: idempotency, the plain INSERT written again on a repeated key, commits,
batch sizes, and resuming an interrupted or failed ingest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from collectors import ProgressInfo, ingest_paths, units
from queries import Store
from queries import ingest as log
from queries.policy import Policy, load
from tests.test_collect_driver import event, events_file, query


@pytest.fixture
def policy() -> Policy:
    return load()


def test_the_same_file_twice_adds_nothing_and_counts_duplicates(store: Store, tmp_path: Path,
                                                                policy: Policy) -> None:
    path = events_file(tmp_path / "events.jsonl", 10, bad_every=4)
    first = ingest_paths(store, [path], policy=policy)

    second = ingest_paths(store, [path], policy=policy)

    assert (first.rows["events"], first.rejects) == (8, 2)
    assert (second.rows["events"], second.skipped_duplicates, second.rejects) == (0, 8, 2)
    assert second.sources[0].unchanged
    assert query(store, "SELECT count(*) FROM events") == [(8,)]
    assert query(store, "SELECT count(*) FROM rejects") == [(2,)]  # not recorded twice


def test_keys_stored_before_are_found_midway_and_counted_once(
        store: Store, tmp_path: Path, policy: Policy) -> None:
    """Rows go in with a plain INSERT until a key is met again: that unit of work is rolled back
    and written once more skipping duplicates, with its rejects and counts recorded once."""
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_bytes(b"".join(orjson.dumps(event(f"e{n}")) + b"\n" for n in (40, 41, 64)))
    ingest_paths(store, [earlier], policy=policy)
    # Lines 40 and 41 are in the second batch of a unit (10 rows each): the first is written again.
    path = events_file(tmp_path / "events.jsonl", 95, bad_every=9)

    report = ingest_paths(store, [path], policy=policy, batch_rows=10, commit_every=2)

    assert (report.rows["events"], report.skipped_duplicates, report.rejects) == (82, 3, 10)
    assert report.records == 95
    assert query(store, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(85, 85)]
    assert query(store, "SELECT count(*), count(DISTINCT line) FROM rejects") == [(10, 10)]
    logged = query(store, "SELECT rows_written, skipped_duplicates, rejects, finished_at IS NOT NULL "
                          "FROM ingest_log ORDER BY ingest_id DESC LIMIT 1")
    assert [(json.loads(rows)["events"], dups, rejects, done)
            for rows, dups, rejects, done in logged] == [(82, 3, 10, True)]


def test_a_key_given_twice_in_one_file_keeps_the_first(store: Store, tmp_path: Path,
                                                       policy: Policy) -> None:
    first = {**event("twice"), "type": "order.captured"}
    second = {**event("twice"), "type": "order.cancelled"}
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(value) + b"\n"
                              for value in (event("a"), first, event("b"), second, event("c"))))

    report = ingest_paths(store, [path], policy=policy, fast_path=False)

    assert (report.rows["events"], report.skipped_duplicates, report.records) == (4, 1, 5)
    assert query(store, "SELECT type FROM events WHERE event_id = 'twice'") == [("order.captured",)]


def test_a_large_file_is_committed_in_several_units(store: Store, tmp_path: Path,
                                                    policy: Policy) -> None:
    path = events_file(tmp_path / "events.jsonl", 95)
    seen: list[ProgressInfo] = []

    report = ingest_paths(store, [path], policy=policy, batch_rows=10, commit_every=2,
                          on_progress=seen.append)

    assert report.rows["events"] == 95
    assert len(seen) == 10 and seen[-1].bytes_done == seen[-1].bytes_total == path.stat().st_size
    assert [info.records for info in seen][:3] == [10, 20, 30]
    assert query(store, "SELECT count(*), max(lines) FROM ingest_log") == [(1, 95)]


def units_ended(batch_rows: list[int], store: Store, commit_every: int = 4) -> list[int]:
    """After which batches (1-based) a unit of work ends, given the rows each batch inserted."""
    ended = []
    with units.Units(store) as unit:
        for number, rows in enumerate(batch_rows, 1):
            unit.inserted(rows)
            if unit.batch_done(commit_every):
                ended.append(number)
    return ended


def test_a_unit_of_work_ends_where_its_last_row_group_is_whole_or_over_half_full(
        store: Store) -> None:
    # The one-process path's batches: four hold a few hundred rows past two row groups; five
    # fill the third past half.
    assert units_ended([61_500] * 12, store) == [5, 10]
    # The workers' batches (three 16 MB pieces): six of them.
    assert units_ended([75_000] * 12, store) == [6, 12]
    assert units_ended([61_440] * 8, store) == [4, 8]  # exactly two row groups
    # A unit smaller than a row group joins the table's last one: four batches, as asked.
    assert units_ended([10] * 8, store) == [4, 8]
    assert units_ended([10] * 4, store, commit_every=2) == [2, 4]
    # Never more than twice the batches asked for.
    assert units_ended([122_880 + 1_000] * 9, store) == [8]


def row_groups(path: Path, unit_rows: int, units_of_work: int = 3) -> list[int]:
    """The rows of each row group of a keyed table after units of `unit_rows` rows, each committed
    and the file released (which checkpoints it), as the ingest's units are."""
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{path}' AS s (STORAGE_VERSION 'v1.2.0')")
        con.execute("CREATE TABLE s.t (k VARCHAR PRIMARY KEY, v VARCHAR)")
        con.execute("DETACH s")
        for unit in range(units_of_work):
            con.execute(f"ATTACH '{path}' AS s")
            con.execute("INSERT INTO s.t SELECT 'k' || i, 'value ' || (i % 1000) "
                        "FROM range($start, $end) r(i)",
                        {"start": unit * unit_rows, "end": (unit + 1) * unit_rows})
            con.execute("DETACH s")
        con.execute(f"ATTACH '{path}' AS s (READ_ONLY)")
        found = con.execute("SELECT list(count ORDER BY row_group_id) FROM (SELECT row_group_id, "
                            "max(count) AS count FROM pragma_storage_info('s.t') GROUP BY 1)"
                            ).fetchone()
    assert found is not None
    return list(found[0])


def test_units_that_end_on_whole_groups_are_not_written_again_by_a_checkpoint(
        tmp_path: Path) -> None:
    """Why units end where they do: a checkpoint merges row groups that fit in fewer, writing
    their rows again; units that end with a group more than half full leave none to merge."""
    assert units.whole_groups(200_000) and not units.whole_groups(130_000)

    kept = row_groups(tmp_path / "whole.duckdb", 200_000)
    merged = row_groups(tmp_path / "partial.duckdb", 130_000)

    assert kept == [122_880, 77_120] * 3  # each unit's groups as it wrote them
    assert merged == [122_880] * 3 + [390_000 - 3 * 122_880]  # rewritten into fewer


def test_the_fast_path_reports_progress_while_its_one_statement_runs(
        store: Store, tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(units, "PROGRESS_EVERY", 0.001)
    path = events_file(tmp_path / "events.jsonl", 20_000)
    seen: list[ProgressInfo] = []

    report = ingest_paths(store, [path], policy=policy, on_progress=seen.append)

    assert report.rows["events"] == 20_000
    during = [info for info in seen if info.bytes_done < info.bytes_total]
    assert during, "nothing reported before the file was done"
    assert all(info.records <= 20_000 for info in during)
    assert seen[-1].bytes_done == seen[-1].bytes_total and seen[-1].records == 20_000


def test_a_batch_also_ends_after_so_many_bytes_of_input(store: Store, tmp_path: Path,
                                                       policy: Policy) -> None:
    """Large records (dead letters with big bodies) must not pile up to batch_rows in memory."""
    path = events_file(tmp_path / "events.jsonl", 30)
    longest = max(len(line) for line in path.read_bytes().splitlines(keepends=True))
    seen: list[ProgressInfo] = []

    report = ingest_paths(store, [path], policy=policy, fast_path=False,
                          batch_bytes=5 * longest, on_progress=seen.append)

    counts = [info.records for info in seen]  # records read, at each batch handed over
    batches = [after - before for before, after in zip([0, *counts], counts, strict=False)]
    assert report.rows["events"] == 30
    assert len(batches) >= 6 and all(5 <= size <= 6 for size in batches[:5])
    assert sum(batches) == 30
    assert query(store, "SELECT count(*) FROM events") == [(30,)]


def test_an_interrupted_ingest_resumes_where_it_committed(store: Store, tmp_path: Path,
                                                         policy: Policy) -> None:
    path = events_file(tmp_path / "events.jsonl", 100, bad_every=7)

    def interrupt(info: ProgressInfo) -> None:
        if info.records >= 60:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_paths(store, [path], policy=policy, batch_rows=10, commit_every=2,
                     on_progress=interrupt)
    committed = query(store, "SELECT count(*) FROM events")[0][0]
    resumed = ingest_paths(store, [path], policy=policy, batch_rows=10, commit_every=2)

    assert 0 < committed < 100 - 14
    assert resumed.sources[0].resumed_from is not None
    assert resumed.summary_line().endswith(" (1 resumed where an interrupted run had committed)")
    assert query(store, "SELECT count(*) FROM events") == [(100 - 14,)]
    assert query(store, "SELECT count(*), count(DISTINCT line) FROM rejects") == [(14, 14)]
    assert query(store, "SELECT count(*), bool_and(finished_at IS NOT NULL) FROM ingest_log") == [
        (1, True)]


def test_a_batch_the_store_refuses_stops_the_ingest_and_a_rerun_finishes_it(
        store: Store, tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches are written on a thread while the next is parsed: its error still stops the ingest,
    units already committed stay, the one it broke is rolled back, and a rerun resumes."""
    path = events_file(tmp_path / "events.jsonl", 100)
    real, written = log.insert_rows, []

    def refuse_the_fourth(cursor: Any, table: Any, rows: Any, **options: Any) -> tuple[int, int]:
        written.append(rows.num_rows)
        if len(written) == 4:
            raise duckdb.IOException("No space left on device")
        return real(cursor, table, rows, **options)

    monkeypatch.setattr(log, "insert_rows", refuse_the_fourth)
    with pytest.raises(duckdb.IOException, match="No space left"):
        ingest_paths(store, [path], policy=policy, batch_rows=10, commit_every=2)
    assert query(store, "SELECT count(*) FROM events") == [(20,)]  # batches 1-2; 3 rolled back
    monkeypatch.undo()

    resumed = ingest_paths(store, [path], policy=policy, batch_rows=10, commit_every=2)
    assert resumed.sources[0].resumed_from is not None
    assert query(store, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(100, 100)]
