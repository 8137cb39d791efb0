"""The CLI faces of replay: dry run verdicts, exit codes, JSON keys, kill-and-resume (R7), edit, discard."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from queries import Store, audit
from tests.test_replay_kit import URL, Estate, census, depth, ingest_dlq, peek

BIN = [sys.executable, "-c", "from console.cli import main; main()"]


def backroom(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BIN, *args], check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def group_of(store: Store, queue: str) -> str:
    with store.reading() as cursor:
        return cursor.execute("SELECT any_value(fingerprint) FROM dlq_messages WHERE queue = $q",
                              {"q": queue}).fetchone()[0]


def test_usage_errors_exit_2(store_path: Path, store: Store) -> None:
    for args in (["dlq", "replay"], ["dlq", "reroute", "x"], ["dlq", "discard", "x"],
                 ["dlq", "replay", "x", "--runtime", "ftp://h/"], ["dlq", "reroute", "x", "--to", "nokey"]):
        result = backroom("--db", str(store_path), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("backroom: ") and len(result.stderr.splitlines()) == 1


def test_unknown_ids_fail_with_exit_1_and_json_keys(store_path: Path, store: Store) -> None:
    result = backroom("--db", str(store_path), "dlq", "replay", "nope", "--dry-run", "--json")
    assert result.returncode == 1
    document = orjson.loads(result.stdout)
    assert {"moved", "skipped", "failed", "possibly_duplicated"} <= document.keys()
    assert document["failed"] == [{"id": "nope", "cause": "no dead letter matches this id"}]


@pytest.mark.broker
async def test_r7_killed_between_publish_and_confirm_resumes_and_reports_duplicates(
        store_path: Path, store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(40)
        ingest_dlq(store, estate.dlq, tmp_path)
        args = ["--db", str(store_path), "dlq", "replay", "--group", group_of(store, estate.dlq),
                "--source", URL, "--batch", "10", "--rate", "0", "--json"]
        killed = backroom(*args, env={"BACKROOM_REPLAY_FAULT": "published"})
        assert killed.returncode == -9
        resumed = backroom(*args)
        assert resumed.returncode == 0, resumed.stderr
        summary = orjson.loads(resumed.stdout)
        assert await depth(estate.dlq) == 0
        target = census(estate.work)
        assert set(target) == set(ids)  # lost 0
        duplicated = {mid for mid, copies in target.items() if copies > 1}
        by_message = _dlq_ids(store, estate.dlq)
        reported = {by_message[d] for d in summary["possibly_duplicated"]}
        assert duplicated <= reported and len(reported) <= 10  # window = one batch


@pytest.mark.broker
async def test_r7_killed_between_confirm_and_ack_resumes_without_resending(
        store_path: Path, store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(40)
        ingest_dlq(store, estate.dlq, tmp_path)
        args = ["--db", str(store_path), "dlq", "replay", "--group", group_of(store, estate.dlq),
                "--source", URL, "--batch", "10", "--rate", "0", "--json"]
        assert backroom(*args, env={"BACKROOM_REPLAY_FAULT": "confirmed"}).returncode == -9
        assert await depth(estate.dlq) == 40  # the acks never happened: all back in the DLQ
        resumed = backroom(*args)
        assert resumed.returncode == 0, resumed.stderr
        assert orjson.loads(resumed.stdout)["possibly_duplicated"] == []
        assert census(estate.work) == Counter({mid: 1 for mid in ids})  # no resend, no loss
        assert await depth(estate.dlq) == 0


def _dlq_ids(store: Store, queue: str) -> dict[str, str]:
    with store.reading() as cursor:
        return dict(cursor.execute("SELECT id, message_id FROM dlq_messages WHERE queue = $q",
                                   {"q": queue}).fetchall())


@pytest.mark.broker
async def test_dry_run_changes_nothing_and_is_audited(store_path: Path, store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        await estate.dead_letters(5)
        ingest_dlq(store, estate.dlq, tmp_path)
        before = [m["properties"]["message_id"] for m in peek(estate.dlq)]
        result = backroom("--db", str(store_path), "dlq", "replay", "--group",
                          group_of(store, estate.dlq), "--dry-run", "--json", "--source", URL)
        assert result.returncode == 0, result.stderr
        document = orjson.loads(result.stdout)
        assert document["counts"]["safe"] == 5 and document["moved"] == []
        assert all(v["target"] == f"exchange {estate.ex} key work" for v in document["verdicts"])
        assert [m["properties"]["message_id"] for m in peek(estate.dlq)] == before
        with store.reading() as cursor:
            [row] = audit.trail(cursor, action="replay")
        assert row.dry_run and row.outcome == "dry run" and len(row.message_ids) == 5


@pytest.mark.broker
async def test_edit_sends_a_new_message_id_and_stores_the_diff(store_path: Path, store: Store,
                                                               tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text("import sys, json\np = sys.argv[1]\nd = json.load(open(p))\nd['n'] = 999\n"
                      "json.dump(d, open(p, 'w'))\n")
    async with Estate() as estate:
        [mid] = await estate.dead_letters(1)
        ingest_dlq(store, estate.dlq, tmp_path)
        result = backroom("--db", str(store_path), "dlq", "edit", mid, "--source", URL, "--json",
                          env={"EDITOR": f"{sys.executable} {editor}"})
        assert result.returncode == 0, result.stderr
        [sent] = peek(estate.work)
        assert orjson.loads(sent["payload"])["n"] == 999
        assert sent["properties"]["message_id"] != mid
        assert sent["properties"]["headers"]["backroom-original-message-id"] == mid
        with store.reading() as cursor:
            [row] = audit.trail(cursor, action="edit")
        assert '"n": 999' in row.detail["diff"] or "999" in row.detail["diff"]
        assert row.detail["new_message_id"] == sent["properties"]["message_id"]


@pytest.mark.broker
async def test_discard_archives_with_reason_and_leaves_the_broker_copy(
        store_path: Path, store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        [mid] = await estate.dead_letters(1)
        ingest_dlq(store, estate.dlq, tmp_path)
        result = backroom("--db", str(store_path), "dlq", "discard", mid, "--reason", "test order")
        assert result.returncode == 0, result.stderr
        assert await depth(estate.dlq) == 1
        with store.reading() as cursor:
            assert cursor.execute("SELECT status FROM dlq_messages").fetchall() == [("discarded",)]
            [row] = audit.trail(cursor, action="discard")
        assert row.detail == {"reason": "test order"}
        removed = backroom("--db", str(store_path), "dlq", "discard", mid, "--reason", "gone",
                           "--remove-from-broker", "--source", URL)
        assert removed.returncode == 0, removed.stderr
        assert await depth(estate.dlq) == 0
        with store.reading() as cursor:
            latest = audit.trail(cursor, action="discard")[0]
        assert latest.detail["reason"] == "gone" and latest.target != "archive (store)"


def test_on_a_demo_store_a_replay_goes_to_the_sandbox_as_in_the_console(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    # The demo's dead letters are on no broker: the default runtime (the source broker) had
    # them all fail with NOT_FOUND, where the console's R replays them into the sandbox.
    from tests.test_tui_helpers import private_copy

    db = private_copy(tmp_path_factory, "demo-replay")
    with Store.at(db).reading() as cursor:
        dlq_id = cursor.execute("SELECT min(id) FROM dlq_messages WHERE status = 'dead'").fetchone()[0]
    result = backroom("--db", str(db), "dlq", "replay", dlq_id, "--json")
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["moved"] == [dlq_id] and "sandbox:" in summary["target"]
