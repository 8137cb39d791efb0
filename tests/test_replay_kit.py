"""Shared helpers for the replay tests (no tests here): a real broker estate with dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import aio_pika
import httpx
import orjson

from collectors import ingest_paths
from queries import Store

URL = "amqp://guest:guest@127.0.0.1:5672/"
API = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")


class Estate:
    """Unique exchange `ex` -> queue `work` (key `work`), dead-lettering into `dlq` via `dlx`."""

    def __init__(self, dlq_type: str = "classic") -> None:
        uid = uuid.uuid4().hex[:8]
        self.ex, self.work, self.dlx, self.dlq = (f"t.{uid}.ex", f"t.{uid}.work", f"t.{uid}.dlx",
                                                  f"t.{uid}.dlq")
        self.dlq_type = dlq_type
        self.connection: aio_pika.abc.AbstractConnection | None = None

    async def __aenter__(self) -> Self:
        self.connection = await aio_pika.connect(URL)
        ch = await self.connection.channel()
        ex = await ch.declare_exchange(self.ex, "direct", durable=True)
        dlx = await ch.declare_exchange(self.dlx, "direct", durable=True)
        dlq = await ch.declare_queue(self.dlq, durable=True, arguments={"x-queue-type": self.dlq_type})
        await dlq.bind(dlx, "work")
        work = await ch.declare_queue(self.work, durable=True,
                                      arguments={"x-dead-letter-exchange": self.dlx})
        await work.bind(ex, "work")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.connection is not None
        ch = await self.connection.channel()
        for queue in (self.work, self.dlq):
            await ch.queue_delete(queue)
        for exchange in (self.ex, self.dlx):
            await ch.exchange_delete(exchange)
        await self.connection.close()

    async def dead_letters(self, n: int, headers: Any = None, with_id: bool = True,
                           body: Any = None) -> list[str]:
        """Publish n messages to `ex/work`, reject them all into the DLQ; their message ids."""
        assert self.connection is not None
        ch = await self.connection.channel()
        ex = await ch.get_exchange(self.ex)
        ids = [f"m-{i:05d}-{uuid.uuid4().hex[:6]}" for i in range(n)]
        await asyncio.gather(*(ex.publish(aio_pika.Message(
            body(i) if body else orjson.dumps({"order_id": f"O-{i}", "n": i, "pad": "x" * 300}),
            message_id=mid if with_id else None, content_type="application/json",
            correlation_id=f"c-{i}", delivery_mode=2, type="OrderReserve",
            headers={"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
                     "x-order-id": f"O-{i}", **(headers or {})}), "work") for i, mid in enumerate(ids)))
        await self.reject_all(self.work, n)
        await self.wait_depth(self.dlq, n)
        return ids

    async def reject_all(self, queue: str, n: int) -> None:
        """A consumer that rejects (requeue=False) exactly n messages, dead-lettering them."""
        assert self.connection is not None
        ch = await self.connection.channel()
        await ch.set_qos(prefetch_count=200)
        q = await ch.get_queue(queue)
        done = asyncio.get_running_loop().create_future()
        count = 0

        async def reject(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal count
            await message.reject(requeue=False)
            count += 1
            if count == n and not done.done():
                done.set_result(None)

        tag = await q.consume(reject)
        await asyncio.wait_for(done, 30)
        await q.cancel(tag)
        await ch.close()

    async def wait_depth(self, queue: str, n: int, timeout: float = 30) -> None:
        """Wait until the queue holds n ready messages (dead-lettering is asynchronous)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await depth(queue) != n:
            assert asyncio.get_running_loop().time() < deadline, f"{queue} never reached {n}"
            await asyncio.sleep(0.05)


async def depth(queue: str) -> int:
    connection = await aio_pika.connect(URL)
    try:
        ch = await connection.channel()
        q = await ch.declare_queue(queue, passive=True)
        return int(q.declaration_result.message_count or 0)
    finally:
        await connection.close()


def peek(queue: str, count: int = 5000) -> list[dict[str, Any]]:
    """The management API's non-destructive /get (requeues): what ingest reads, and the census."""
    answer = httpx.post(f"{API}/queues/%2F/{quote(queue, safe='')}/get", auth=AUTH, timeout=60, json={
        "count": count, "ackmode": "ack_requeue_true", "encoding": "auto"})
    answer.raise_for_status()
    return answer.json()


def census(queue: str) -> Counter[str]:
    """message id -> copies in the queue."""
    return Counter(m["properties"].get("message_id") or m["payload"] for m in peek(queue))


def ingest_dlq(store: Store, queue: str, folder: Path) -> None:
    """Store the DLQ's dead letters as `backroom ingest` would from a management dump."""
    path = folder / f"{queue}.json"
    path.write_bytes(orjson.dumps(peek(queue)))
    report = ingest_paths(store, [path], fmt="rabbitmq-dlq")
    assert report.rejects == 0


def stored_ids(store: Store, queue: str) -> dict[str, str]:
    """message id (or body) -> dead-letter id, for the queue's stored rows."""
    with store.reading() as cursor:
        rows = cursor.execute("SELECT id, message_id FROM dlq_messages WHERE queue = $q",
                              {"q": queue}).fetchall()
    return {mid: dlq_id for dlq_id, mid in rows}
