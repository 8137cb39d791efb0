"""A dead-letter queue on a live broker as a replay source: a scan bounded by the depth at its start.

Deliveries arrive through one consumer with a prefetch window. Messages the run does not send are
held unacknowledged until the scan ends, then requeued together, so the loop never meets them
again and never meets a message that died again during the run (FORMATS.md 4.5: never loop
until empty). The broker-side lease is an exclusive queue owned by this connection.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import aio_pika
import aiormq.exceptions as amqp_errors

from console.replay.amqp import SourceUnavailable, _quietly, connect
from console.replay.lease import LeaseHeld, lease_queue_name
from console.replay.message import Identity, Taken
from console.replay.runtime import redact_text

IDLE_TIMEOUT = 5.0


def _properties(message: aio_pika.abc.AbstractIncomingMessage) -> dict[str, Any]:
    props = message.properties
    names = ("content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
             "reply_to", "message_id", "timestamp", "type", "app_id", "user_id", "expiration")
    found = {name: getattr(props, name, None) for name in names}
    return {k: v for k, v in found.items() if v is not None}


class AmqpSource:
    """Takes dead letters live from one queue; acks only what the caller says was confirmed."""

    def __init__(self, url: str, vhost: str | None, queue: str, identity: Identity, who: str,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.url, self.vhost, self.queue = url, vhost, queue
        self.identity = identity
        self.who = who
        self.idle_timeout = idle_timeout
        self.depth = 0
        self.received = 0
        self._inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        self._held: list[aio_pika.abc.AbstractIncomingMessage] = []
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._tag: str | None = None
        self._prefetch = 0
        self._acked_to = 0  # every delivery tag up to this one is acknowledged

    async def open(self, window: int) -> None:
        self._connection = await connect(self.url, f"replay source {self.queue}")
        await self._take_lease()
        self._channel = await self._connection.channel(publisher_confirms=False)
        try:
            self._queue = await self._channel.declare_queue(self.queue, passive=True)
        except amqp_errors.ChannelClosed as exc:
            raise SourceUnavailable(f"dead-letter queue {self.queue}: {redact_text(str(exc))}") from None
        result = self._queue.declaration_result
        self.depth = int(result.message_count or 0)
        await self._subscribe(window)

    async def _take_lease(self) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        name = lease_queue_name(self.vhost, self.queue)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            await channel.declare_queue(name, exclusive=True, auto_delete=True, arguments={
                "backroom-who": self.who, "backroom-since": since})
        except amqp_errors.ChannelLockedResource:
            raise LeaseHeld(f"queue {self.queue} is being replayed by {await self._holder(name)}; "
                            "try again when it ends") from None

    async def _holder(self, lease: str) -> str:
        """Who holds the broker lease, from the management API when it answers."""
        try:
            import httpx

            parts = urlsplit(self.url)
            vhost = quote(self.vhost or "/", safe="")
            async with httpx.AsyncClient(timeout=2.0) as client:
                answer = await client.get(
                    f"http://{parts.hostname}:15672/api/queues/{vhost}/{quote(lease, safe='')}",
                    auth=(parts.username or "guest", parts.password or "guest"))
            args = answer.json().get("arguments", {})
            return f"{args['backroom-who']} since {args['backroom-since']} (another machine or session)"
        except Exception:  # noqa: BLE001 (the refusal matters more than its details)
            return "another backroom session (its details are not readable here)"

    async def _subscribe(self, window: int) -> None:
        """(Re)consume with a prefetch that fits the held messages plus one batch."""
        assert self._queue is not None and self._channel is not None
        if self._tag is not None:
            await self._queue.cancel(self._tag)
        self._prefetch = window + len(self._held)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        self._tag = await self._queue.consume(self._deliver, no_ack=False)

    async def _deliver(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._inbox.put_nowait(message)

    async def batch(self, size: int, wanted: set[str]) -> list[Taken]:
        """Up to `size` taken messages (each counted against the depth); empty when the scan is over."""
        if self.received >= self.depth or not wanted:
            return []
        if len(self._held) + size > self._prefetch:
            await self._subscribe(size)
        taken: list[Taken] = []
        while len(taken) < size and self.received < self.depth:
            try:
                # a short wait once the batch has begun: the rest of a prefetch window is in transit
                timeout = 0.02 if taken else self.idle_timeout
                message = await asyncio.wait_for(self._inbox.get(), timeout)
            except asyncio.TimeoutError:
                if taken:
                    break
                self.depth = self.received  # the rest was taken by someone else
                break
            self.received += 1
            taken.append(self.identity.take(message.body, _properties(message),
                                            dict(message.headers or {}), handle=message))
        return taken

    async def ack(self, items: list[Taken]) -> None:
        if not items:
            return
        tags = sorted(item.handle.delivery_tag for item in items)
        if not self._held and self._inbox.empty() and tags == list(range(self._acked_to + 1, tags[-1] + 1)):
            # nothing held and no gap: one ack(multiple) covers the batch (tags are per channel)
            await max(items, key=lambda item: item.handle.delivery_tag).handle.ack(multiple=True)
        else:
            for item in items:
                await item.handle.ack()
        self._acked_to = max(self._acked_to, tags[-1]) if not self._held else self._acked_to

    def hold(self, items: list[Taken]) -> None:
        """Keep these unacknowledged until the scan ends (then they are requeued in one go)."""
        self._held.extend(item.handle for item in items)

    async def current_depth(self) -> int | None:
        """The queue's depth now (ready messages), for the canary's "did it die again" check."""
        if self._connection is None:
            return None
        channel = await self._connection.channel()
        try:
            queue = await channel.declare_queue(self.queue, passive=True)
            return int(queue.declaration_result.message_count or 0)
        finally:
            await _quietly(channel.close())

    async def close(self) -> None:
        """Requeue everything held or delivered past the bound, then close (which also requeues)."""
        if self._queue is not None and self._tag is not None:
            await _quietly(self._queue.cancel(self._tag))
        while not self._inbox.empty():
            self._held.append(self._inbox.get_nowait())
        for message in self._held:
            await _quietly(message.nack(requeue=True))
        self._held.clear()
        if self._connection is not None:
            await _quietly(self._connection.close())
