"""Query latency at 2.5M orders / ~18M events: backroom vs hand-written SQL, bare python, grep."""

from __future__ import annotations

import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchkit import show, timed

from collectors import ingest_paths
from queries import Store, journey, sla
from queries.policy import load

STORE = Path("/work/bench/store-2.5m.duckdb")
AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POINT = ("SELECT * FROM events WHERE order_id = $id ORDER BY occurred_at, recorded_at, event_id")
SPANS = "SELECT * FROM spans WHERE order_id = $id ORDER BY start_time"
# The same per-rule answer as `sla report`, written by hand over the per-order rollups.
HAND_SLA = """
WITH rules AS (SELECT * FROM (VALUES {rules}) AS r(rule, from_state, to_state, within_s)),
pairs AS (
    SELECT r.rule, f.order_id, epoch(t.first_at) - epoch(f.first_at) AS elapsed, r.within_s
    FROM rules r JOIN order_states f ON f.state = r.from_state
    LEFT JOIN order_states t ON t.order_id = f.order_id AND t.state = r.to_state
)
SELECT rule, count(*), count(*) FILTER (elapsed <= within_s),
       count(*) FILTER (elapsed > within_s), count(*) FILTER (elapsed IS NULL)
FROM pairs GROUP BY rule ORDER BY rule
"""


@pytest.fixture(scope="module")
def store(estate: Path) -> Store:
    """The estate ingested once into STORE; reused by later runs."""
    store = Store.at(STORE)
    if not STORE.exists():
        seconds, report = timed(lambda: ingest_paths(store, [estate]))
        show("building the 2.5M-order store (once)", [
            ("backroom ingest of the whole estate", seconds,
             report.summary_line())])  # type: ignore[attr-defined]
    return store


def order_ids(store: Store, count: int = 15) -> list[str]:
    with store.reading() as cursor:
        rows = cursor.execute("SELECT order_id FROM orders USING SAMPLE 15 ROWS (reservoir, 7)"
                              ).fetchall()
    return [row[0] for row in rows][:count]


def median_of(action, keys: list[str]) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(timed(lambda key=key: action(key))[0] for key in keys)


def test_order_journey_vs_point_query(store: Store) -> None:
    policy, keys = load(), order_ids(store)
    with store.reading() as cursor:
        def ours(key: str) -> object:
            found = journey.resolve(cursor, key)
            return journey.load(cursor, policy, found[0], AT)

        def hand(key: str) -> object:
            return (cursor.execute(POINT, {"id": key}).fetchall(),
                    cursor.execute(SPANS, {"id": key}).fetchall())

        ours(keys[0]), hand(keys[0])  # warm
        ours_s, hand_s = median_of(ours, keys[1:]), median_of(hand, keys[1:])
    show("order KEY in-process (median of 14 orders)", [
        ("hand-written point queries (events + spans)", hand_s, ""),
        ("journey.resolve + journey.load", ours_s, f"{ours_s / hand_s:.2f}x (target <= 2)"),
    ])


def test_order_cli_vs_bare_process_vs_grep(store: Store, estate: Path) -> None:
    key = order_ids(store, 1)[0]
    backroom = [str(Path(sys.executable).with_name("backroom")), "order", key, "--json",
                "--db", str(STORE)]
    bare = [sys.executable, "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            f"con.execute({POINT!r}.replace('$id', '?'), [sys.argv[2]]).fetchall()",
            str(STORE), key]
    grep = ["grep", "-rF", "--include=*.jsonl", key, str(estate)]
    runs = {name: [timed(lambda c=cmd: subprocess.run(c, capture_output=True))[0]
                   for _ in range(3)] for name, cmd in
            (("cli", backroom), ("bare", bare), ("grep", grep))}
    cli, bare_s, grep_s = (statistics.median(runs[name]) for name in ("cli", "bare", "grep"))
    show(f"backroom order {key} as a whole process (median of 3)", [
        ("python -c: import duckdb + the point query", bare_s, ""),
        ("backroom order KEY --json", cli, f"{cli / bare_s:.2f}x of bare (target <= 1.5)"),
        ("grep -rF over the raw JSONL", grep_s, f"backroom is {grep_s / cli:.0f}x faster (>= 100)"),
    ])


def test_sla_report_vs_hand_written_sql(store: Store) -> None:
    policy = load()
    rules = ", ".join(
        f"('{rule.name}', '{rule.from_state}', '{rule.to_state}', "
        f"{rule.within.total_seconds()})" for rule in policy.sla)
    with store.reading() as cursor:
        sla.report(cursor, policy, AT)  # warm
        ours = statistics.median(timed(lambda: sla.report(cursor, policy, AT))[0]
                                 for _ in range(3))
        hand = statistics.median(timed(lambda: cursor.execute(
            HAND_SLA.format(rules=rules)).fetchall())[0] for _ in range(3))
    show("sla report (median of 3)", [
        ("hand-written SQL over order_states (counts only)", hand, ""),
        ("sla.report", ours, f"{ours / hand:.2f}x (target <= 1.5)"),
    ])
