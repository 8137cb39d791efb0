"""A dead-letter queue on a live broker as a replay source: a scan bounded by the depth at its start.

Deliveries arrive through one consumer with a prefetch window. Messages the run does not send are
held unacknowledged until the scan ends, then requeued together, so the loop never meets them
again and never meets a message that died again during the run (FORMATS.md 4.5: never loop
until empty). The broker-side lease is an exclusive queue owned by this connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import aio_pika
import aiormq.exceptions as amqp_errors

from console.replay.amqp import (
    CLOSE_TIMEOUT,
    CONFIRM_TIMEOUT,
    LinkLost,
    SourceUnavailable,
    _quietly,
    bounded,
    connect,
)
from console.replay.lease import LeaseHeld, lease_queue_name
from console.replay.message import Identity, Taken
from console.replay.runtime import redact_text

IDLE_TIMEOUT = 5.0
AHEAD = 2  # batches of deliveries the prefetch lets in: the one being sent and the next
T = TypeVar("T")


def _close_unawaited(awaitable: Awaitable[Any]) -> None:
    if isinstance(awaitable, Coroutine):
        awaitable.close()


_PROPERTY_NAMES = ("content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
                   "reply_to", "message_id", "timestamp", "type", "app_id", "user_id", "expiration")


def _properties(message: aio_pika.abc.AbstractIncomingMessage) -> dict[str, Any]:
    """The delivery's AMQP properties by their AMQP names (`type`, which pamqp calls `message_type`)."""
    found = {name: getattr(message, name, None) for name in _PROPERTY_NAMES}
    if found["delivery_mode"] is not None:
        found["delivery_mode"] = int(found["delivery_mode"])
    return {k: v for k, v in found.items() if v is not None}


class AmqpSource:
    """Takes dead letters live from one queue; acks only what the caller says was confirmed."""

    def __init__(self, url: str, vhost: str | None, queue: str, identity: Identity, who: str,
                 idle_timeout: float = IDLE_TIMEOUT, op_timeout: float = CONFIRM_TIMEOUT) -> None:
        self.url, self.vhost, self.queue = url, vhost, queue
        self.identity = identity
        self.who = who
        self.idle_timeout = idle_timeout
        self.op_timeout = op_timeout  # any round trip to the broker: past it, the link is lost
        self.depth = 0
        self.received = 0
        # deliveries, and None once the channel closed under us (the link broke)
        self._inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage | None] = asyncio.Queue()
        self._lost: str | None = None
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
        self._channel.close_callbacks.add(self._closed)
        await self._subscribe(window)

    def _closed(self, _channel: object, exc: BaseException | None) -> None:
        """The channel closed (a reset link closes it too): wake a waiting `batch`."""
        self._lost = self._lost or redact_text(str(exc or "")) or "the channel closed"
        self._inbox.put_nowait(None)

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
        """(Re)consume with a prefetch that fits the held messages plus two batches.

        The second batch's deliveries arrive while the first one is being sent, so the next
        batch is in hand when its turn comes (the bare loop waits a round trip for it).
        """
        assert self._queue is not None and self._channel is not None
        if self._tag is not None:
            await self._round_trip(self._queue.cancel(self._tag), "re-subscribing")
        self._prefetch = AHEAD * window + len(self._held)
        await self._round_trip(self._channel.set_qos(prefetch_count=self._prefetch), "setting the prefetch")
        self._tag = await self._round_trip(self._queue.consume(self._deliver, no_ack=False), "subscribing")

    async def _round_trip(self, awaitable: Awaitable[T], doing: str) -> T:
        """A bounded call on the consuming channel; once one fails, every later one fails at once."""
        if self._lost:
            _close_unawaited(awaitable)
            raise LinkLost(self._what(f"{doing} ({self._lost})"))
        try:
            return await bounded(awaitable, self.op_timeout, self._what(doing))
        except LinkLost as exc:
            self._lost = str(exc)
            raise

    def _what(self, doing: str) -> str:
        return f"link to the dead-letter queue {self.queue} lost while {doing}"

    async def _deliver(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._inbox.put_nowait(message)

    async def batch(self, size: int, wanted: set[str]) -> list[Taken]:
        """Up to `size` taken messages (each counted against the depth); empty when the scan is over."""
        if self.received >= self.depth or not wanted:
            return []
        if len(self._held) + AHEAD * size > self._prefetch:
            await self._subscribe(size)
        taken: list[Taken] = []
        inbox = self._inbox
        while len(taken) < size and self.received < self.depth:
            try:
                # a short wait once the batch has begun: the rest of a prefetch window is in transit
                timeout = 0.02 if taken else self.idle_timeout
                message = inbox.get_nowait() if not inbox.empty() else await asyncio.wait_for(inbox.get(), timeout)
            except TimeoutError:
                if taken:
                    break
                await self._alive("waiting for deliveries")  # a stalled link is not an empty queue
                self.depth = self.received  # the rest was taken by someone else
                break
            if message is None:
                self._inbox.put_nowait(None)  # stays lost for every later call
                raise LinkLost(self._what(f"receiving ({self._lost})"))
            self.received += 1
            taken.append(self.identity.take(message.body, _properties(message),
                                            dict(message.headers or {}), handle=message))
        return taken

    async def ack(self, items: list[Taken], verify: bool = True) -> None:
        """Acknowledge, then (unless the caller does it later with `acked`) prove the broker got it."""
        if not items:
            return
        tags = sorted(item.handle.delivery_tag for item in items)
        try:
            if not self._held and tags == list(range(self._acked_to + 1, tags[-1] + 1)):
                # nothing held and no gap: one ack(multiple) covers exactly the batch (tags are per
                # channel and rise in delivery order, so what waits in the inbox is above them)
                await max(items, key=lambda item: item.handle.delivery_tag).handle.ack(multiple=True)
            else:
                for item in items:
                    await item.handle.ack()
        except (amqp_errors.AMQPError, ConnectionError, OSError, RuntimeError) as exc:
            self._lost = self._lost or type(exc).__name__
            raise LinkLost(self._what(f"acknowledging ({type(exc).__name__})")) from None
        self._acked_to = max(self._acked_to, tags[-1]) if not self._held else self._acked_to
        if verify:
            await self.acked()

    async def acked(self) -> None:
        """Every ack written so far reached the broker (an ack written into a dead link is no ack)."""
        await self._alive("acknowledging")

    async def _alive(self, doing: str) -> None:
        """One synchronous round trip on the consuming channel; the broker answers after the frames before it."""
        assert self._channel is not None
        await self._round_trip(self._channel.set_qos(prefetch_count=self._prefetch), doing)

    def hold(self, items: list[Taken]) -> None:
        """Keep these unacknowledged until the scan ends (then they are requeued in one go)."""
        self._held.extend(item.handle for item in items)

    async def current_depth(self) -> int | None:
        """The queue's depth now (ready messages), for the canary's "did it die again" check."""
        if self._connection is None:
            return None
        channel = await bounded(self._connection.channel(), self.op_timeout, self._what("opening a channel"))
        try:
            queue = await bounded(channel.declare_queue(self.queue, passive=True), self.op_timeout,
                                  self._what("reading the depth"))
            return int(queue.declaration_result.message_count or 0)
        finally:
            await _quietly(channel.close(), CLOSE_TIMEOUT)

    async def close(self) -> None:
        """Requeue everything held or delivered past the bound, then close (which also requeues).

        Each step has one bounded budget: over a stalled link the broker requeues what the dead
        connection held once it notices, and waiting on it here would never end.
        """
        budget = min(CLOSE_TIMEOUT, self.op_timeout)
        if not self._lost:
            await _quietly(self._release(), budget)
        self._held.clear()
        if self._connection is not None:
            await _quietly(self._connection.close(), budget)

    async def _release(self) -> None:
        if self._queue is not None and self._tag is not None:
            await self._queue.cancel(self._tag)
        while not self._inbox.empty():
            message = self._inbox.get_nowait()
            if message is not None:
                self._held.append(message)
        for message in self._held:
            await message.nack(requeue=True)
