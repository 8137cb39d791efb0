"""Query latency at 2.5M orders / ~18M events: backroom vs hand-written SQL, bare python, grep."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from benchkit import show, timed
from conftest import AT, STORE

from queries import Store, journey, sla
from queries.policy import load

POINT = ("SELECT * FROM events WHERE order_id = $id ORDER BY occurred_at, recorded_at, event_id")
SPANS = "SELECT * FROM spans WHERE order_id = $id ORDER BY start_time"
# The same answer as `sla report`, written by hand over the per-order rollups: per rule the orders,
# met, breached, open, pending and p50/p95, then every breach (closed or open) with its slowest hop.
# One temporary table, so that each order/rule pair is judged once.
HAND_JUDGED = """
CREATE OR REPLACE TEMP TABLE hand_judged AS
WITH rules AS (SELECT * FROM (VALUES {rules}) AS r(rule, from_state, to_state, within_s, channels)),
known AS (SELECT order_id, state, first_at FROM order_states
          WHERE coalesce(first_recorded_at, first_at) <= $at)
SELECT r.rule, f.order_id, f.first_at AS from_at, t.first_at AS to_at, r.within_s,
       epoch(coalesce(t.first_at, $at)) - epoch(f.first_at) AS elapsed,
       CASE WHEN t.first_at IS NULL THEN (CASE WHEN epoch($at) - epoch(f.first_at) > r.within_s
                                               THEN 'open' ELSE 'pending' END)
            WHEN epoch(t.first_at) - epoch(f.first_at) <= r.within_s THEN 'met' ELSE 'breached' END
       AS status
FROM rules r JOIN known f ON f.state = r.from_state
JOIN orders o ON o.order_id = f.order_id
LEFT JOIN known t ON t.order_id = f.order_id AND t.state = r.to_state
WHERE r.channels IS NULL OR list_contains(r.channels, o.channel)
"""
HAND_SUMMARY = """
SELECT rule, count(*), count(*) FILTER (status = 'met'), count(*) FILTER (status = 'breached'),
       count(*) FILTER (status = 'open'), count(*) FILTER (status = 'pending'),
       quantile_cont(elapsed, 0.5) FILTER (to_at IS NOT NULL),
       quantile_cont(elapsed, 0.95) FILTER (to_at IS NOT NULL)
FROM hand_judged GROUP BY rule ORDER BY rule
"""
HAND_BREACHES = """
WITH b AS (SELECT * FROM hand_judged WHERE status IN ('breached', 'open')),
steps AS (
    SELECT b.order_id, b.rule, s.state, s.first_at AS reached
    FROM b JOIN order_states s ON s.order_id = b.order_id
     AND s.first_at BETWEEN b.from_at AND coalesce(b.to_at, $at)
     AND coalesce(s.first_recorded_at, s.first_at) <= $at
    UNION ALL SELECT order_id, rule, '(still waiting)', $at FROM b WHERE status = 'open'
),
hops AS (
    SELECT order_id, rule, lag(state) OVER w || ' -> ' || state AS hop,
           epoch(reached) - epoch(lag(reached) OVER w) AS took
    FROM steps WINDOW w AS (PARTITION BY order_id, rule ORDER BY reached, state)
)
SELECT b.rule, b.status, b.order_id, b.elapsed, arg_max(h.hop, h.took), max(h.took)
FROM b LEFT JOIN hops h ON h.order_id = b.order_id AND h.rule = b.rule AND h.hop IS NOT NULL
GROUP BY ALL ORDER BY b.rule, b.status, b.elapsed DESC, b.order_id
"""


def hand_report(cursor: object, rules: str) -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
    cursor.execute(HAND_JUDGED.format(rules=rules), {"at": AT})  # type: ignore[attr-defined]
    summary = cursor.execute(HAND_SUMMARY).fetchall()  # type: ignore[attr-defined]
    breaches = cursor.execute(HAND_BREACHES, {"at": AT}).fetchall()  # type: ignore[attr-defined]
    return summary, breaches


def order_ids(store: Store, count: int = 15) -> list[str]:
    with store.reading() as cursor:
        rows = cursor.execute("SELECT order_id FROM orders USING SAMPLE 15 ROWS (reservoir, 7)"
                              ).fetchall()
    return [row[0] for row in rows][:count]


def median_of(action, keys: list[str]) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(timed(lambda key=key: action(key))[0] for key in keys)


def test_order_journey_vs_point_query(big_store: Store) -> None:
    store = big_store
    policy, keys = load(), order_ids(store)
    with store.reading() as cursor:
        def ours(key: str) -> object:
            return journey.find(cursor, policy, key, AT)

        def hand(key: str) -> object:
            return (cursor.execute(POINT, {"id": key}).fetchall(),
                    cursor.execute(SPANS, {"id": key}).fetchall())

        ours(keys[0]), hand(keys[0])  # warm
        ours_s, hand_s = median_of(ours, keys[1:]), median_of(hand, keys[1:])
    show("order KEY in-process (median of 14 orders)", [
        ("hand-written point queries (events + spans)", hand_s, ""),
        ("journey.find (what order KEY runs)", ours_s, f"{ours_s / hand_s:.2f}x (target <= 2)"),
    ])


def test_order_cli_vs_bare_process_vs_grep(big_store: Store, estate: Path) -> None:
    store = big_store
    key = order_ids(store, 1)[0]
    backroom = [str(Path(sys.executable).with_name("backroom")), "order", key, "--json",
                "--db", str(STORE)]
    bare = [sys.executable, "-c",
            ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
             f"con.execute({POINT!r}.replace('$id', '?'), [sys.argv[2]]).fetchall(); "
             f"con.execute({SPANS!r}.replace('$id', '?'), [sys.argv[2]]).fetchall()"),
            str(STORE), key]
    grep = ["grep", "-rF", "--include=*.jsonl", key, str(estate)]
    runs = {name: [timed(lambda c=cmd: subprocess.run(c, capture_output=True, check=False))[0]
                   for _ in range(3)] for name, cmd in
            (("cli", backroom), ("bare", bare), ("grep", grep))}
    cli, bare_s, grep_s = (statistics.median(runs[name]) for name in ("cli", "bare", "grep"))
    show(f"backroom order {key} as a whole process (median of 3)", [
        ("python -c: import duckdb + the point queries (events, spans)", bare_s, ""),
        ("backroom order KEY --json", cli, f"{cli / bare_s:.2f}x of bare (target <= 1.5)"),
        ("grep -rF over the raw JSONL", grep_s, f"backroom is {grep_s / cli:.0f}x faster (>= 100)"),
    ])


def test_sla_report_vs_hand_written_sql(big_store: Store) -> None:
    policy = load()
    rules = ", ".join(
        f"('{rule.name}', '{rule.from_state}', '{rule.to_state}', {rule.within.total_seconds()}, "
        f"{[str(c) for c in rule.channels] if rule.channels else 'NULL'})" for rule in policy.sla)
    with big_store.reading() as cursor:
        report = sla.report(cursor, policy, AT)  # warm, and the answer both must give
        summary, breaches = hand_report(cursor, rules)
        assert sorted((r.rule, r.orders, r.met, r.breached, r.open, r.pending) for r in report.rules) == \
            sorted(row[:6] for row in summary)
        assert sorted((b.rule, b.status, b.order_id, b.slowest_hop) for b in report.breaches) == \
            sorted((row[0], row[1], row[2], row[4]) for row in breaches)
        ours = statistics.median(timed(lambda: sla.report(cursor, policy, AT))[0]
                                 for _ in range(3))
        hand = statistics.median(timed(lambda: hand_report(cursor, rules))[0] for _ in range(3))
    show(f"sla report over all orders ({len(report.breaches):,} breaches; median of 3)", [
        ("hand-written SQL: judged once, summary, breaches with hops", hand, ""),
        ("sla.report (typed rows)", ours, f"{ours / hand:.2f}x (target <= 1.5)"),
    ])
