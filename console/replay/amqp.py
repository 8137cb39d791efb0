"""RabbitMQ: the confirmed, mandatory publisher (runtime) and the bounded live scan of a DLQ (source)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any, TypeVar

import aio_pika
import aiormq
import aiormq.exceptions as amqp_errors
from pamqp.commands import Basic

from console.replay.runtime import Outbound, Outcome, Sent, redact_text, redact_url
from queries.errors import BackroomError

T = TypeVar("T")

CONFIRM_TIMEOUT = 30.0
CLOSE_TIMEOUT = 2.0  # closing over a stalled link must not wait for the 3x heartbeat grace
_LINK_ERRORS = (ConnectionError, OSError, amqp_errors.AMQPConnectionError,
                amqp_errors.ChannelInvalidStateError)


class SourceUnavailable(BackroomError):
    """The dead-letter queue cannot be read (broker down, queue missing, no permission)."""

    exit_code = 1


class LinkLost(BackroomError):
    """The link to the broker broke (reset) or stalled (no answer in time) in the middle of a run."""

    exit_code = 1


async def bounded(awaitable: Awaitable[T], timeout: float, what: str) -> T:
    """One broker round trip that cannot wait forever: a stall or a broken link raises `LinkLost`."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise LinkLost(f"{what}: no answer in {timeout:g} s (link stalled?)") from None
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled, not the connection under us
        raise LinkLost(f"{what}: the connection was dropped") from None
    except _LINK_ERRORS as exc:
        raise LinkLost(f"{what}: {type(exc).__name__}: {_why(exc)}") from None


def fault(point: str) -> None:
    """Test hook: `BACKROOM_REPLAY_FAULT=point` kills this process at that point (R7), nothing else."""
    if os.environ.get("BACKROOM_REPLAY_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


async def connect(url: str, role: str) -> aio_pika.abc.AbstractConnection:
    """A plain (non-robust) connection: a lost link must surface as an error, not a silent retry."""
    try:
        return await aio_pika.connect(url, timeout=10, client_properties={
            "connection_name": f"backroom {role}"})
    except (TimeoutError, *_LINK_ERRORS) as exc:
        raise SourceUnavailable(f"cannot reach {redact_url(url)}: {redact_text(str(exc)) or type(exc).__name__}") from None


def _timestamp(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return value


def _amqp_value(value: Any) -> Any:
    """Header values pamqp can encode: bytes travel as a byte array."""
    if isinstance(value, bytes):
        return bytearray(value)
    if isinstance(value, dict):
        return {k: _amqp_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_amqp_value(v) for v in value]
    return value


def to_properties(outbound: Outbound) -> Basic.Properties:
    """The AMQP properties as the dead letter had them: none added (aio-pika's Message would add priority 0)."""
    props = outbound.properties
    return Basic.Properties(
        content_type=props.get("content_type"), content_encoding=props.get("content_encoding"),
        headers=_amqp_value(outbound.headers), delivery_mode=props.get("delivery_mode"),
        priority=props.get("priority"), correlation_id=props.get("correlation_id"),
        reply_to=props.get("reply_to"), message_id=props.get("message_id"),
        timestamp=_timestamp(props.get("timestamp")), message_type=props.get("type"),
        app_id=props.get("app_id"))


class AmqpRuntime:
    """Publishes with `mandatory` on a confirm channel; a return, a nack or a closed channel is no ack."""

    name = "amqp"

    def __init__(self, url: str, confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self.url = url
        self.confirm_timeout = confirm_timeout
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._known: set[str] = set()
        self._lost = False

    async def open(self) -> None:
        self._connection = await connect(self.url, "replay publisher")

    async def _ready(self) -> aio_pika.abc.AbstractChannel:
        if self._lost and self._connection is not None:
            await _quietly(self._connection.close(), CLOSE_TIMEOUT)
            self._lost = False
        if self._connection is None or self._connection.is_closed:
            self._connection = await connect(self.url, "replay publisher")
            self._channel = None
        if self._channel is None or self._channel.is_closed:
            # on_return_raises=False: a bounced message comes back as the publish result (checked below)
            self._channel = await bounded(self._connection.channel(
                publisher_confirms=True, on_return_raises=False), self.confirm_timeout, "opening a channel")
        return self._channel

    async def send(self, batch: Sequence[Outbound]) -> list[Sent]:
        try:
            missing = await self._missing_exchanges({item.destination.exchange for item in batch})
            channel = await self._ready()
        except LinkLost as exc:  # nothing was published, and the link cannot be trusted for the rest
            return [Sent(Outcome.REFUSED, f"no channel to the broker: {exc}", link_lost=True)] * len(batch)
        except Exception as exc:  # noqa: BLE001 (nothing was published: a definite refusal)
            return [Sent(Outcome.REFUSED, f"no channel to the broker: {_why(exc)}")] * len(batch)
        results: list[Sent | None] = [missing.get(item.destination.exchange) for item in batch]
        todo = [item for item, result in zip(batch, results) if result is None]
        sent = iter(await self._publish_all(channel, todo))
        return [result or next(sent) for result in results]

    async def _missing_exchanges(self, names: set[str]) -> dict[str, Sent]:
        """Check each new exchange once (passive declare on a throwaway channel): a clean 404."""
        missing: dict[str, Sent] = {}
        for name in sorted(names - self._known - {""}):
            await self._ready()
            assert self._connection is not None
            probe = await bounded(self._connection.channel(publisher_confirms=False), self.confirm_timeout,
                                  "opening a channel")
            try:
                await bounded(probe.declare_exchange(name, passive=True), self.confirm_timeout,
                              f"checking exchange {name}")
                self._known.add(name)
            except amqp_errors.ChannelClosed as exc:
                missing[name] = Sent(Outcome.REFUSED, _why(exc))
            finally:
                await _quietly(probe.close(), CLOSE_TIMEOUT)
        return missing

    async def _publish_all(self, channel: aio_pika.abc.AbstractChannel, batch: list[Outbound]) -> list[Sent]:
        """All at once, then one deadline for every confirm: a stall shows as timeouts, not a hang."""
        if not batch:
            return []
        underlay = await channel.get_underlay_channel()
        tasks = [asyncio.ensure_future(_publish(underlay, item)) for item in batch]
        await asyncio.sleep(0)
        fault("published")
        _, pending = await asyncio.wait(tasks, timeout=self.confirm_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        judged = [_judge(item, _answer(task, pending)) for item, task in zip(batch, tasks)]
        if any(sent.link_lost for sent in judged):
            self._drop_link()
        return _spread_refusals(batch, judged)

    def _drop_link(self) -> None:
        """A stalled or broken link is never reused: the next send (if any) opens a new connection."""
        self._lost = True
        self._channel = None

    async def close(self) -> None:
        if self._connection is not None:
            await _quietly(self._connection.close(), min(CLOSE_TIMEOUT, self.confirm_timeout))


async def _publish(channel: aiormq.abc.AbstractChannel, item: Outbound) -> Any:
    """One mandatory publish on the confirm channel; its answer is the confirm (or the returned message)."""
    return await channel.basic_publish(item.body, exchange=item.destination.exchange,
                                       routing_key=item.destination.routing_key,
                                       properties=to_properties(item), mandatory=True)


def _answer(task: asyncio.Future[Any], pending: AbstractSet[asyncio.Future[Any]]) -> Any:
    """What one publish came back with: the confirm, the returned message, or the exception."""
    if task in pending:
        return TimeoutError()
    if task.cancelled():
        return asyncio.CancelledError()
    return task.exception() or task.result()


def _spread_refusals(batch: Sequence[Outbound], judged: list[Sent]) -> list[Sent]:
    """A channel the broker closed over an exchange (403/404) took every publish to it down with it."""
    refused = {item.destination.exchange: sent for item, sent in zip(batch, judged)
               if sent.outcome == Outcome.REFUSED and sent.cause and " - " in sent.cause}
    return [refused.get(item.destination.exchange, sent)
            if sent.outcome == Outcome.UNKNOWN and "channel closed" in (sent.cause or "")
            or sent.outcome == Outcome.UNKNOWN and "ChannelInvalidState" in (sent.cause or "")
            else sent for item, sent in zip(batch, judged)]


def _why(exc: BaseException) -> str:
    return redact_text(str(exc)) or type(exc).__name__


def _judge(item: Outbound, result: Any) -> Sent:
    """Only a Basic.Ack with no preceding return is a confirm (FORMATS.md 4.8, RELIABILITY.md G1)."""
    where = item.destination.describe()
    if isinstance(result, Basic.Ack):
        return Sent(Outcome.CONFIRMED)
    if isinstance(result, aiormq.abc.DeliveredMessage):
        ret = result.delivery
        code = getattr(ret, "reply_code", 312)
        text = getattr(ret, "reply_text", "NO_ROUTE")
        return Sent(Outcome.REFUSED, f"{text} ({code}): {where} routes to no queue")
    if isinstance(result, (Basic.Nack, aio_pika.exceptions.DeliveryError)):
        return Sent(Outcome.REFUSED, f"target refused (broker nack) at {where}")
    if isinstance(result, amqp_errors.ChannelClosed):
        return _closed(item, result)
    if isinstance(result, TimeoutError):
        return Sent(Outcome.UNKNOWN, "outcome unknown: no confirm in time (link stalled?)", link_lost=True)
    if isinstance(result, (*_LINK_ERRORS, asyncio.CancelledError)):
        return Sent(Outcome.UNKNOWN, f"outcome unknown: {type(result).__name__}: {_why(result)}",
                    link_lost=True)
    if isinstance(result, BaseException):
        return Sent(Outcome.UNKNOWN, f"outcome unknown: {type(result).__name__}: {_why(result)}")
    return Sent(Outcome.UNKNOWN, f"outcome unknown: unexpected answer {type(result).__name__}")


def _closed(item: Outbound, error: amqp_errors.ChannelClosed) -> Sent:
    """A broker channel error names what it refused; only then is non-delivery certain."""
    text = _why(error)
    names = [n for n in (item.destination.exchange, item.destination.routing_key) if n]
    certain = isinstance(error, (amqp_errors.ChannelNotFoundEntity, amqp_errors.ChannelAccessRefused,
                                 amqp_errors.ChannelPreconditionFailed))
    if certain and (any(f"'{name}'" in text for name in names) or "max size" in text):
        return Sent(Outcome.REFUSED, text)
    return Sent(Outcome.UNKNOWN, f"outcome unknown: channel closed: {text}")


async def _quietly(awaitable: Any, timeout: float | None = None) -> None:
    """Await a close: its failure (or, with a timeout, its stall) must not hide the run's own outcome."""
    try:
        await asyncio.wait_for(awaitable, timeout)
    except (Exception, asyncio.CancelledError):
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
