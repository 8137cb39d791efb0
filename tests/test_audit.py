"""The audit trail records who did what, newest first, and the CLI prints it for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from queries import Store, audit
from tests.test_cli import backroom


def test_actions_are_recorded_and_listed_newest_first(store: Store, store_path: Path) -> None:
    with store.writing() as cursor:
        audit.record(cursor, "replay", ["m1", "m2"], "amqp://localhost/shop", dry_run=True,
                     outcome="dry run: 2 safe", who="dana")
        audit.record(cursor, "discard", ["m3"], None, dry_run=False, outcome="discarded",
                     detail={"reason": "duplicate of m1"}, who="sam")
    with store.reading() as cursor:
        trail = audit.trail(cursor)
    assert [(a.who, a.action, a.message_ids) for a in trail] == [
        ("sam", "discard", ["m3"]), ("dana", "replay", ["m1", "m2"])]
    result = backroom("--db", str(store_path), "audit", "--json")
    assert result.returncode == 0, result.stderr
    actions = json.loads(result.stdout)["actions"]
    assert [a["action"] for a in actions] == ["discard", "replay"]
    assert set(actions[0]) >= {"at", "who", "action", "message_ids", "target", "outcome", "dry_run"}
    assert actions[0]["detail"] == {"reason": "duplicate of m1"}


def test_audit_since_answers_what_was_done_last_night(store: Store, store_path: Path) -> None:
    with store.writing() as cursor:
        audit.record(cursor, "replay", ["m1"], "sandbox:", dry_run=False, outcome="sent 1", who="dana")
        audit.record(cursor, "discard", ["m2"], None, dry_run=False, outcome="discarded", who="sam")
        cursor.execute("UPDATE actions SET \"at\" = \"at\" - INTERVAL 3 DAY WHERE who = 'dana'")
    recent = json.loads(backroom("--db", str(store_path), "audit", "--since", "12h", "--json").stdout)
    assert [a["who"] for a in recent["actions"]] == ["sam"]
    everything = json.loads(backroom("--db", str(store_path), "audit", "--json").stdout)
    assert [a["who"] for a in everything["actions"]] == ["sam", "dana"]
