"""Live dead letters on the real broker: peek leaves the queue as it was, drain takes ownership."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import pytest

from collectors.live import LiveWriter, SourceStats
from collectors.rabbitmq_dump import BROKER, dead_letter_id
from collectors.rabbitmq_live import PeekRefused, QueueCollector, QueueSource, masked
from collectors.rows import micros
from collectors.spool import Spool
from queries import Store, policy

pytestmark = pytest.mark.broker
URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Estate:
    """A work queue that dead-letters into its own DLQ, both uniquely named for this test."""

    channel: aio_pika.abc.AbstractChannel
    work: str
    dlq: str

    async def depth(self) -> int:
        queue = await self.channel.declare_queue(self.dlq, passive=True)
        return queue.declaration_result.message_count or 0

    async def dead_letter(self, ids: list[str]) -> None:
        """Publish to the work queue and reject each one, as a failing consumer would."""
        for message_id in ids:
            await self.channel.default_exchange.publish(aio_pika.Message(
                f'{{"order_id": "{message_id}"}}'.encode(), message_id=message_id,
                content_type="application/json",
                headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=self.work)
        work = await self.channel.declare_queue(self.work, passive=True)
        for _ in ids:
            message = await work.get(no_ack=False)
            await message.reject(requeue=False)
        while await self.depth() < len(ids):
            pass  # dead-lettering is asynchronous: wait until the broker has moved them all

    async def take_all(self) -> list[str]:
        """Empty the DLQ, in order, and return the message ids."""
        queue = await self.channel.declare_queue(self.dlq, passive=True)
        taken = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            taken.append(message.message_id)
        return taken


@pytest.fixture
async def estate() -> AsyncIterator[Estate]:
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    suffix = uuid.uuid4().hex[:8]
    work, dlq = f"test.work.{suffix}", f"test.work.{suffix}.dlq"
    await channel.declare_queue(dlq, durable=True)
    await channel.declare_queue(work, durable=True, arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
    yield Estate(channel, work, dlq)
    for name in (work, dlq):
        await channel.queue_delete(name)
    await connection.close()


def collector(store: Store, tmp_path: Path, queue: str, drain: bool = False,
              url: str = URL) -> QueueCollector:
    writer = LiveWriter(store, Spool(tmp_path / "spool"))
    source = QueueSource(url, queue, drain)
    return QueueCollector(source, writer, policy.load(), SourceStats(source.name, "rabbitmq"))


def rows(store: Store, sql: str) -> list[tuple]:
    with store.reading() as cursor:
        return cursor.execute(sql).fetchall()


async def test_peek_leaves_depth_and_order_and_stores_each_message_once(
        estate: Estate, store: Store, tmp_path: Path) -> None:
    ids = [f"m-{number}" for number in range(6)]
    await estate.dead_letter(ids)
    peek = collector(store, tmp_path, estate.dlq)
    assert await peek.round() == 6
    assert await peek.round() == 6  # peeked twice
    assert await estate.depth() == 6
    stored = rows(store, "SELECT message_id, queue, vhost, reason, original_queue, death_count, "
                         "order_id, trace_id, id, first_death_at FROM dlq_messages ORDER BY message_id")
    assert [row[0] for row in stored] == ids
    assert {row[1:6] + row[7:8] for row in stored} == {
        (estate.dlq, "/", "rejected", estate.work, 1, "4bf92f3577b34da6a3ce929d0e0e4736")}
    assert all(row[6] == row[0] for row in stored)  # the order id, from the body's order_id
    for row in stored:  # the same stable id a management-API dump of this message would get
        body = f'{{"order_id": "{row[0]}"}}'.encode()
        assert row[8] == dead_letter_id(BROKER, "/", estate.dlq, row[0],
                                        hashlib.sha256(body).hexdigest(), micros(row[9]))
    assert await estate.take_all() == ids  # order unchanged


async def test_a_message_with_its_own_expiry_shows_it_as_the_management_api_would(
        estate: Estate, store: Store, tmp_path: Path) -> None:
    await estate.channel.default_exchange.publish(
        aio_pika.Message(b'{"order_id": "e-1"}', message_id="e-1", expiration=600), estate.dlq)
    assert await collector(store, tmp_path, estate.dlq).round() == 1
    assert rows(store, "SELECT properties->>'expiration' FROM dlq_messages") == [("600000",)]


async def test_drain_stores_every_message_then_empties_the_queue(
        estate: Estate, store: Store, tmp_path: Path) -> None:
    ids = [f"d-{number}" for number in range(250)]  # more than one drain batch
    await estate.dead_letter(ids)
    drain = collector(store, tmp_path, estate.dlq, drain=True)
    assert await drain.round() == 250
    assert await estate.depth() == 0
    stored = rows(store, "SELECT message_id FROM dlq_messages ORDER BY message_id")
    assert [row[0] for row in stored] == sorted(ids)


async def test_peek_then_drain_adds_nothing_twice(estate: Estate, store: Store, tmp_path: Path) -> None:
    await estate.dead_letter(["x-1", "x-2"])
    await collector(store, tmp_path, estate.dlq).round()
    await collector(store, tmp_path, estate.dlq, drain=True).round()
    assert rows(store, "SELECT count(*) FROM dlq_messages") == [(2,)]
    assert await estate.depth() == 0


async def test_quorum_queue_with_a_delivery_limit_is_not_peeked(store: Store, tmp_path: Path) -> None:
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    name = f"test.quorum.{uuid.uuid4().hex[:8]}.dlq"
    await channel.declare_queue(name, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": 1})
    try:
        await channel.default_exchange.publish(aio_pika.Message(b"{}", message_id="q-1"), name)
        with pytest.raises(PeekRefused, match="delivery limit"):
            await collector(store, tmp_path, name).round()
        queue = await channel.declare_queue(name, passive=True)
        assert queue.declaration_result.message_count == 1
        message = await queue.get(no_ack=True)
        assert message.message_id == "q-1" and not message.redelivered  # never delivered before
    finally:
        await channel.queue_delete(name)
        await connection.close()


def test_the_password_appears_nowhere(store: Store, tmp_path: Path) -> None:
    canary = "s3cret-canary-pw"
    wrong = collector(store, tmp_path, "no.such.queue", url=f"amqp://guest:{canary}@127.0.0.1:5672/")
    wrong.run(threading.Event(), once=True)
    assert wrong.stats.error and canary not in wrong.stats.error
    assert canary not in wrong.stats.name and "***" in wrong.stats.name
    assert masked(f"amqp://guest:{canary}@host:5672/v") == "amqp://guest:***@host:5672/v"
    assert not store.path.exists() or canary.encode() not in store.path.read_bytes()
