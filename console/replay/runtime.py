"""The small interface every runtime adapter implements, and what a send can come back as."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from queries.errors import BackroomError


class UsageError(BackroomError):
    """A runtime URL or destination that cannot be used (exit 2)."""

    exit_code = 2


class Outcome(enum.StrEnum):
    """What the runtime said: took responsibility, definitely refused, or no answer we can trust."""

    CONFIRMED = "confirmed"
    REFUSED = "refused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Destination:
    """Where a message goes: an exchange and routing key on a broker, or an HTTP URL."""

    exchange: str = ""
    routing_key: str = ""
    url: str | None = None

    def describe(self) -> str:
        if self.url:
            return redact_url(self.url)
        return f"exchange {self.exchange or '(default)'!s} key {self.routing_key}"


@dataclass
class Outbound:
    """One message ready to send: exact body, properties and headers already prepared."""

    dlq_id: str
    replay_id: str
    body: bytes
    properties: dict[str, Any]
    headers: dict[str, Any]
    destination: Destination
    order_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    """How one send ended, with the named cause when it was not confirmed."""

    outcome: Outcome
    cause: str | None = None
    after_unknown: bool = False  # confirmed by a resend after an unknown outcome: maybe twice
    link_lost: bool = False  # the link broke or stalled: the run stops, the rest is not sent


class Runtime(Protocol):
    """A middleware runtime: send a batch, get one `Sent` per message, in order."""

    name: str

    async def open(self) -> None: ...

    async def send(self, batch: Sequence[Outbound]) -> list[Sent]: ...

    async def close(self) -> None: ...


_USERINFO = re.compile(r"//[^/@\s]*@")


def redact_url(url: str) -> str:
    """The URL without its password (or any userinfo): safe to print, log and store."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub("//***@", url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_text(text: str) -> str:
    """Any `scheme://user:pass@` inside free text (exception messages) with the password hidden."""
    return re.sub(r"([a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s]*@", r"\1:***@", text)


def kind_of(url: str) -> str:
    """amqp, http or sandbox, from a runtime URL; anything else is a usage error."""
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("amqp", "amqps"):
        return "amqp"
    if scheme in ("http", "https"):
        return "http"
    if scheme == "sandbox":
        return "sandbox"
    raise UsageError(f"unknown runtime {redact_url(url)!r}: use amqp://, http(s):// or sandbox:")


_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMS = "expected EXCHANGE/KEY, queue:NAME or an http(s) URL"


def parse_destination(text: str) -> Destination:
    """`--to`: `EXCHANGE/KEY`, `exchange:EXCHANGE/KEY`, `queue:NAME` or an http(s) URL."""
    if _NAME_CONTROL.search(text) or text != text.strip():
        raise UsageError(f"--to {text!r}: control characters or surrounding spaces; {_FORMS}")
    if text.startswith(("http://", "https://")):
        try:
            host = urlsplit(text).hostname
        except ValueError:
            host = None
        if not host:
            raise UsageError(f"--to {redact_url(text)!r}: the URL names no host; {_FORMS}")
        return Destination(url=text)
    if text.startswith("queue:") and len(text) > 6:
        return Destination(exchange="", routing_key=text[6:])
    body = text.removeprefix("exchange:")
    exchange, slash, key = body.partition("/")
    if not slash or not exchange:
        raise UsageError(f"--to {text!r}: {_FORMS}")
    return Destination(exchange="" if exchange == "amq.default" else exchange, routing_key=key)
