"""Replay over a real RabbitMQ (RELIABILITY.md R1-R4, R9, R11-R13, R16): census oracle, lost = 0."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aio_pika
import httpx
import pytest

from console.replay.engine import execute
from console.replay.lease import FileLease, LeaseHeld
from console.replay.plan import Request
from console.replay.runtime import parse_destination
from queries import Store, audit
from queries.policy import load
from tests.test_replay_kit import (
    API,
    AUTH,
    URL,
    Estate,
    census,
    depth,
    ingest_dlq,
    peek,
    stored_ids,
)

pytestmark = pytest.mark.broker


def request(**kw: object) -> Request:
    base = {"source_url": URL, "rate": 0, "idle_timeout": 2.0}
    return Request(**{**base, **kw})  # type: ignore[arg-type]


def group_of(store: Store, queue: str) -> str:
    with store.reading() as cursor:
        return cursor.execute("SELECT any_value(fingerprint) FROM dlq_messages WHERE queue = $q",
                              {"q": queue}).fetchone()[0]


@pytest.mark.parametrize("dlq_type, batch, n", [("classic", 1, 300), ("classic", 100, 1000),
                                                ("quorum", 1, 300), ("quorum", 100, 1000)])
async def test_r1_happy_path(store: Store, tmp_path: Path, dlq_type: str, batch: int, n: int) -> None:
    """1,000 messages batched; per-message mode (window 1, two fsyncs a message) at 300 for time."""
    async with Estate(dlq_type) as estate:
        ids = await estate.dead_letters(n)
        before = {m["properties"]["message_id"]: m for m in peek(estate.dlq)}
        ingest_dlq(store, estate.dlq, tmp_path)
        summary = await execute(store, request(group=group_of(store, estate.dlq), batch=batch), load())
        assert summary.failed == [] and summary.possibly_duplicated == []
        assert len(summary.moved) == n and summary.exit_code == 0
        assert await depth(estate.dlq) == 0
        after = peek(estate.work)
        assert sorted(m["properties"]["message_id"] for m in after) == sorted(ids)  # lost 0, dup 0
        for message in after:
            props = message["properties"]
            old = before[props["message_id"]]
            assert hashlib.sha256(message["payload"].encode()).hexdigest() == hashlib.sha256(
                old["payload"].encode()).hexdigest()
            assert props["content_type"] == "application/json"
            # the same set of properties, with the same values: none dropped, none added (G9)
            assert {k: v for k, v in props.items() if k != "headers"} == {
                k: v for k, v in old["properties"].items() if k != "headers"}
            assert props["correlation_id"] == old["properties"]["correlation_id"]
            headers = props["headers"]
            old_tp = old["properties"]["headers"]["traceparent"]
            assert headers["traceparent"].split("-")[1] == old_tp.split("-")[1]  # same trace
            assert headers["traceparent"] != old_tp  # a child span: the replay
            assert headers["backroom-original-traceparent"] == old_tp
            assert headers["backroom-replay-count"] == 1
            assert not [k for k in headers if k.startswith(("x-death", "x-first-death", "x-last-death"))]
    with store.reading() as cursor:
        statuses = cursor.execute("SELECT status, count(*) FROM dlq_messages GROUP BY ALL").fetchall()
        assert statuses == [("replayed", n)]
        trail = audit.trail(cursor, action="replay")
    assert trail[0].outcome == "ok" and not trail[0].dry_run


async def test_r2_no_route_keeps_messages_in_the_dlq(store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(20)
        ingest_dlq(store, estate.dlq, tmp_path)
        connection = await aio_pika.connect(URL)
        ch = await connection.channel()
        work = await ch.get_queue(estate.work)
        await work.unbind(estate.ex, "work")  # the binding is gone
        summary = await execute(store, request(group=group_of(store, estate.dlq), batch=10), load())
        await connection.close()
        assert summary.moved == [] and len(summary.failed) == 20
        assert all("NO_ROUTE (312)" in f["cause"] and estate.ex in f["cause"] for f in summary.failed)
        assert sorted(census(estate.dlq)) == sorted(ids) and await depth(estate.work) == 0
        assert summary.exit_code == 1


async def test_r3_missing_exchange_is_named_and_the_dlq_intact(store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(15)
        ingest_dlq(store, estate.dlq, tmp_path)
        summary = await execute(store, request(group=group_of(store, estate.dlq), batch=5,
                                               to=parse_destination("t.no.such.exchange/work")), load())
        assert summary.moved == [] and len(summary.failed) == 15
        assert all("NOT_FOUND" in f["cause"] and "t.no.such.exchange" in f["cause"]
                   for f in summary.failed)
        assert summary.possibly_duplicated == []
        assert sorted(census(estate.dlq)) == sorted(ids)


async def test_r4_full_target_nack_is_not_acked(store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(10)
        ingest_dlq(store, estate.dlq, tmp_path)
        connection = await aio_pika.connect(URL)
        ch = await connection.channel()
        full = await ch.declare_queue(f"{estate.work}.full", arguments={
            "x-max-length": 3, "x-overflow": "reject-publish"})
        summary = await execute(store, request(group=group_of(store, estate.dlq), batch=1,
                                               to=parse_destination(f"queue:{full.name}")), load())
        assert len(summary.moved) == 3 and len(summary.failed) == 7
        assert all("broker nack" in f["cause"] for f in summary.failed)
        left = census(estate.dlq)
        moved = census(full.name)
        assert sorted(left + moved) == sorted(ids)  # lost 0, dup 0
        await full.delete(if_unused=False, if_empty=False)
        await connection.close()


async def test_r9_a_second_operator_is_refused_with_who_and_since(store: Store, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(5)
        ingest_dlq(store, estate.dlq, tmp_path)
        holder = FileLease("rabbitmq", None, estate.dlq, "dana@ops")
        holder.acquire()
        try:
            with pytest.raises(LeaseHeld, match=r"dana@ops .* since \d{4}-"):
                await execute(store, request(group=group_of(store, estate.dlq)), load())
        finally:
            holder.release()
        assert sorted(census(estate.dlq)) == sorted(ids)
        # the broker lease refuses an operator on another machine (no shared lock file)
        connection = await aio_pika.connect(URL)
        from console.replay.lease import lease_queue_name

        ch = await connection.channel()
        await ch.declare_queue(lease_queue_name(None, estate.dlq), exclusive=True, auto_delete=True,
                               arguments={"backroom-who": "sam@box2", "backroom-since": "2026-03-01T10:00:00+00:00"})
        with pytest.raises(LeaseHeld, match="sam@box2 since 2026-03-01"):
            await execute(store, request(group=group_of(store, estate.dlq)), load())
        await connection.close()
        summary = await execute(store, request(group=group_of(store, estate.dlq)), load())
        assert len(summary.moved) == 5 and sorted(census(estate.work)) == sorted(ids)


async def test_r11_poison_counts_replays_and_is_refused_beyond_max(store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        [mid] = await estate.dead_letters(1, headers={"backroom-replay-count": 1})  # replayed once before
        ingest_dlq(store, estate.dlq, tmp_path)
        [first] = stored_ids(store, estate.dlq).values()
        summary = await execute(store, request(keys=[first], max_replays=5), load())
        assert summary.moved == [first]
        [message] = peek(estate.work)
        assert message["properties"]["headers"]["backroom-replay-count"] == 2
        await estate.reject_all(estate.work, 1)  # the consumer fails it again
        await estate.wait_depth(estate.dlq, 1)
        # whether or not the new death got a new id, the dead-again copy is never acknowledged
        again = await execute(store, request(keys=[first], max_replays=5), load())
        assert again.moved == [] and again.exit_code == 1 and list(census(estate.dlq)) == [mid]
    async with Estate() as estate:
        [mid] = await estate.dead_letters(1, headers={"backroom-replay-count": 2})
        ingest_dlq(store, estate.dlq, tmp_path)
        [poison] = stored_ids(store, estate.dlq).values()
        refused = await execute(store, request(keys=[poison], max_replays=2), load())
        assert refused.moved == [] and "poison" in refused.skipped[0]["cause"]
        assert refused.exit_code == 1 and list(census(estate.dlq)) == [mid]
        forced = await execute(store, request(keys=[poison], max_replays=2, force=True), load())
        assert forced.moved == [poison]
        assert peek(estate.work)[0]["properties"]["headers"]["backroom-replay-count"] == 3


def _latest_dead(store: Store, queue: str) -> str:
    with store.reading() as cursor:
        return cursor.execute("SELECT id FROM dlq_messages WHERE queue = $q AND status = 'dead' "
                              "ORDER BY first_death_at DESC LIMIT 1", {"q": queue}).fetchone()[0]


async def test_r12_no_message_id_gets_a_derived_stable_id(store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        await estate.dead_letters(3, with_id=False)
        ingest_dlq(store, estate.dlq, tmp_path)
        summary = await execute(store, request(group=group_of(store, estate.dlq)), load())
        assert len(summary.moved) == 3 and await depth(estate.dlq) == 0
        assert len(peek(estate.work)) == 3
        again = await execute(store, request(keys=summary.moved), load())
        assert again.moved == [] and all("already replayed" in s["cause"] for s in again.skipped)
        assert again.exit_code == 1


async def test_r13_access_refused_is_clear_and_nothing_acked(store: Store, tmp_path: Path) -> None:
    user = f"t-{tmp_path.name[-8:]}"
    api = httpx.AsyncClient(auth=AUTH)
    (await api.put(f"{API}/users/{user}", json={"password": "pw-secret-1", "tags": ""})).raise_for_status()
    (await api.put(f"{API}/permissions/%2F/{user}",
                   json={"configure": "", "write": "^$", "read": ".*"})).raise_for_status()
    try:
        async with Estate() as estate:
            ids = await estate.dead_letters(4)
            ingest_dlq(store, estate.dlq, tmp_path)
            summary = await execute(store, request(group=group_of(store, estate.dlq),
                                                   runtime_url=f"amqp://{user}:pw-secret-1@127.0.0.1/"), load())
            assert summary.moved == [] and len(summary.failed) == 4
            assert all("ACCESS_REFUSED" in f["cause"] for f in summary.failed)
            assert "pw-secret-1" not in str(summary.to_json())
            assert sorted(census(estate.dlq)) == sorted(ids)
    finally:
        await api.delete(f"{API}/users/{user}")
        await api.aclose()


async def test_r16_header_type_zoo_is_republished_equal(store: Store, tmp_path: Path) -> None:
    import datetime
    import decimal

    zoo = {"long": 2**40, "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
           "price": decimal.Decimal("12.50"), "nested": {"a": [1, "two", 3.5, True]},
           "raw": bytearray(b"\x00\xff"), "flag": False, "none": None}
    async with Estate() as estate:
        await estate.dead_letters(1, headers=zoo)
        connection = await aio_pika.connect(URL)
        ch = await connection.channel()
        original = await (await ch.get_queue(estate.dlq)).get(no_ack=False)
        await original.nack(requeue=True)
        ingest_dlq(store, estate.dlq, tmp_path)
        summary = await execute(store, request(group=group_of(store, estate.dlq)), load())
        assert len(summary.moved) == 1
        replayed = await (await ch.get_queue(estate.work)).get(no_ack=True)
        kept = {k: v for k, v in original.headers.items()
                if not k.startswith(("x-death", "x-first-death", "traceparent"))}
        for key, value in kept.items():
            assert replayed.headers[key] == value, key
        assert replayed.body == original.body and replayed.message_id == original.message_id
        await connection.close()
