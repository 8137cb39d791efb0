"""RabbitMQ dead-letter queues, live over AMQP (aio-pika): peek by default, drain on request.

Peek (DESIGN.md, RELIABILITY.md G5): measure the depth, `basic.get` at most that many with
manual ack, then `basic.nack(multiple, requeue)` them all at once, and only then store the
copies. A classic queue puts requeued messages back where they were, so depth and order are
unchanged and no delivery stays held while anybody looks at it. A quorum queue with a
delivery limit is refused: before 4.3 every requeue counts as a delivery (FORMATS.md 4.3).

Drain takes ownership: a batch is committed to the store before its messages are acked, and
a message that was not committed is requeued. Both loops stop at the depth measured at their
start, so a message that dies again while we read cannot keep them going.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from collectors.live import Batch, LiveWriter, SourceStats, StoredNothing
from collectors.rabbitmq_dump import DlqDumpParser
from collectors.rows import Where, micros
from queries.errors import BackroomError
from queries.ingest import Table
from queries.policy import Policy

DRAIN_BATCH = 100
MAX_PEEK = 10_000  # deliveries held at once by one peek; a deeper queue is seen in its first part
MANAGEMENT_PORT = 15672
_CURRENT_LIMIT = re.compile(r"'x-delivery-limit'.*current is the value '(-?\d+)'")


class PeekRefused(BackroomError):
    """Peeking would change the queue (a quorum queue with a delivery limit)."""


def masked(url: str) -> str:
    """The AMQP URL with its password replaced by `***` (T4: no credential in any output)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def vhost_of(url: str) -> str:
    path = urlsplit(url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


@dataclass(frozen=True)
class QueueSource:
    """One queue to collect from: the broker URL (secret), the queue, and whether to drain it."""

    url: str
    queue: str
    drain: bool = False

    @property
    def name(self) -> str:
        return f"{masked(self.url)} {self.queue}"


def _plain(value: Any) -> Any:
    """An AMQP header value as the management API shows it (times as epoch seconds)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(aware.timestamp())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return float(value)
    return value


def as_management_message(message: AbstractIncomingMessage) -> dict[str, Any]:
    """One delivery in the management API's `/get` shape, so the dump parser's rules apply."""
    properties: dict[str, Any] = {
        "content_type": message.content_type, "content_encoding": message.content_encoding,
        "delivery_mode": int(message.delivery_mode) if message.delivery_mode else None,
        "priority": message.priority, "correlation_id": message.correlation_id,
        "reply_to": message.reply_to, "message_id": message.message_id,
        "timestamp": _plain(message.timestamp) if message.timestamp else None,
        "type": message.type, "user_id": message.user_id, "app_id": message.app_id,
        "headers": _plain(dict(message.headers or {})),
    }
    # aio-pika gives an incoming expiration in seconds; the management API shows milliseconds.
    if isinstance(message.expiration, (int, float)):
        properties["expiration"] = str(int(message.expiration * 1000))
    return {
        "payload": base64.b64encode(message.body).decode(), "payload_encoding": "base64",
        "payload_bytes": len(message.body), "redelivered": message.redelivered,
        "exchange": message.exchange, "routing_key": message.routing_key,
        "properties": {k: v for k, v in properties.items() if v is not None},
    }


class QueueCollector:
    """Peeks at (or drains) one dead-letter queue, one bounded round at a time."""

    def __init__(self, source: QueueSource, writer: LiveWriter, policy: Policy,
                 stats: SourceStats, on_error: Callable[[str], None] | None = None) -> None:
        self.source, self.writer, self.policy, self.stats = source, writer, policy, stats
        self.on_error = on_error
        self.vhost = vhost_of(source.url)
        self.last_depth: int | None = None

    def run(self, stop: threading.Event, interval: float = 2.0, once: bool = False) -> None:
        """Rounds until `stop` is set (or one round with `once`); errors end up in the stats."""
        asyncio.run(self._loop(stop, interval, once))

    async def _loop(self, stop: threading.Event, interval: float, once: bool) -> None:
        while True:
            try:
                await self.round()
                self.stats.error = None
            except PeekRefused as refused:
                self._failed(str(refused))
                return
            except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError, OSError,
                    StoredNothing) as exc:
                self._failed(self._scrub(f"{self.stats.name}: {type(exc).__name__}: {exc}"))
                if once:
                    return
            if once or await asyncio.to_thread(stop.wait, interval):
                return

    def _failed(self, message: str) -> None:
        if message != self.stats.error and self.on_error is not None:
            self.on_error(message)  # once per new cause, not once per round
        self.stats.error = message

    async def round(self) -> int:
        """One peek or drain round; returns how many messages it read."""
        connection = await aio_pika.connect(self.source.url, timeout=10)
        async with connection:
            channel = await connection.channel(publisher_confirms=False)
            queue = await channel.declare_queue(self.source.queue, passive=True)
            depth = queue.declaration_result.message_count or 0
            self.last_depth = depth
            if self.source.drain:
                return await self._drain(queue, depth)
            await self._refuse_quorum_with_limit(connection)
            return await self._peek(queue, depth)

    async def _peek(self, queue: AbstractQueue, depth: int) -> int:
        held = await self._take(queue, min(depth, MAX_PEEK))
        if held:
            # One nack for all of them: the broker puts each back in its place, none stays held.
            await held[-1].nack(requeue=True, multiple=True)
        batch, _ = self._rows(held)
        if len(batch):
            await asyncio.to_thread(self.writer.write, batch, self.stats, may_spool=True)
        return len(held)

    async def _drain(self, queue: AbstractQueue, depth: int) -> int:
        taken = 0
        while taken < depth:
            held = await self._take(queue, min(DRAIN_BATCH, depth - taken))
            if not held:
                break
            taken += len(held)
            batch, refused = self._rows(held)
            try:
                await asyncio.to_thread(self.writer.write, batch, self.stats, may_spool=False)
            except StoredNothing:
                await held[-1].nack(requeue=True, multiple=True)  # not committed: stays theirs
                raise
            for message in held:  # committed: now the store owns them (unusable ones stay)
                if message.delivery_tag in refused:
                    await message.nack(requeue=True)
                else:
                    await message.ack()
        return taken

    async def _take(self, queue: AbstractQueue, count: int) -> list[AbstractIncomingMessage]:
        held: list[AbstractIncomingMessage] = []
        for _ in range(count):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            held.append(message)
        return held

    def _rows(self, held: list[AbstractIncomingMessage]) -> tuple[Batch, set[int]]:
        """The messages as dlq rows (the dump parser's id, fingerprint and correlation rules)."""
        parser = DlqDumpParser(self.stats.name, self.policy, seen_at=micros(datetime.now(UTC)))
        refused: set[int] = set()
        rejects = []
        for number, message in enumerate(held, 1):
            wrapper = {"queue": self.source.queue, "vhost": self.vhost,
                       "messages": [as_management_message(message)]}
            found = parser.feed(wrapper, Where(number, 0, b""))
            if found:
                refused.add(message.delivery_tag or 0)
                rejects += found
        rows = parser.buffer.rows
        return Batch(self.stats.name, "rabbitmq-dlq", Table.DLQ_MESSAGES, rows, rejects), refused

    async def _refuse_quorum_with_limit(self, connection: aio_pika.abc.AbstractConnection) -> None:
        kind, limit = await asyncio.to_thread(self._management_view)
        if kind is None:
            kind, limit = await self._probe(connection)
        if kind == "quorum" and limit != "none":
            why = f"a delivery limit of {limit}" if limit else (
                "a delivery limit that only the management API could rule out")
            raise PeekRefused(
                f"will not peek at quorum queue {self.source.queue!r}: it has {why}, and on "
                "RabbitMQ before 4.3 every requeue counts as a delivery, so peeking could "
                "dead-letter or drop its messages; use --drain, or the management UI")

    def _management_view(self) -> tuple[str | None, str | None]:
        """(queue type, delivery limit or 'none') from the management API; (None, None) if absent."""
        parts = urlsplit(self.source.url)
        url = (f"http://{parts.hostname}:{MANAGEMENT_PORT}/api/queues/"
               f"{quote(self.vhost, safe='')}/{quote(self.source.queue, safe='')}")
        request = urllib.request.Request(url)
        token = f"{unquote(parts.username or 'guest')}:{unquote(parts.password or 'guest')}"
        request.add_header("Authorization", "Basic " + base64.b64encode(token.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                info = json.load(response)
        except (urllib.error.URLError, OSError, ValueError):
            return None, None
        policy = info.get("effective_policy_definition") or {}
        limit = (info.get("arguments") or {}).get("x-delivery-limit", policy.get("delivery-limit"))
        return info.get("type"), "none" if limit is None else str(limit)

    async def _probe(self, connection: aio_pika.abc.AbstractConnection) -> tuple[str, str | None]:
        """Without the management API, ask the broker: an inequivalent declaration names the truth.

        Declaring an existing queue with other arguments fails, and the error says what the
        queue has (verified on 3.10.8): `current is 'quorum'`, `current is the value '1'`.
        """
        refusal = await self._declare_refusal(connection, {"x-queue-type": "classic"})
        if refusal is None or "current is 'quorum'" not in refusal:
            return "classic", None
        refusal = await self._declare_refusal(connection, {"x-queue-type": "quorum"})
        found = _CURRENT_LIMIT.search(refusal or "")
        return "quorum", found.group(1) if found else None  # policies are invisible here

    async def _declare_refusal(self, connection: aio_pika.abc.AbstractConnection,
                               arguments: dict[str, Any]) -> str | None:
        channel: AbstractChannel = await connection.channel(publisher_confirms=False)
        try:
            await channel.declare_queue(self.source.queue, durable=True, arguments=arguments)
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            return str(exc)
        await channel.close()
        return None

    def _scrub(self, text: str) -> str:
        # The URL itself first, so it reads as everywhere else (`guest:***@`) even when the
        # user name is the password; then the password wherever else it appears.
        url, shown = self.source.url, masked(self.source.url)
        password = urlsplit(url).password
        pieces = text.replace(url, shown).split(shown)
        for secret in filter(None, (password, password and unquote(password))):
            pieces = [piece.replace(secret, "***") for piece in pieces]
        return shown.join(pieces)
