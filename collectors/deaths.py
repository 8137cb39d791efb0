"""RabbitMQ dead-letter history in every shape it arrives in, read into one typed value.

Shapes (FORMATS.md 4.2, RELIABILITY.md 2): AMQP 0-9-1 `x-death` as pika gives it (`time` a
tz-aware datetime, `count` an int subclass), as aio-pika/pamqp gives it (datetimes, sometimes
bytes), as the management API gives it (`time` in epoch seconds); AMQP 1.0 `x-opt-deaths`
(`first-time`/`last-time` in epoch milliseconds, symbol keys); and the `x-first-death-*`
(3.10+) and `x-last-death-*` (3.13+) headers. Reading never raises: what cannot be used is
left out and named in `DeathHistory.ignored`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from collectors.rows import time_from_rfc3339

X_DEATH = "x-death"
X_OPT_DEATHS = "x-opt-deaths"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime holds
# An epoch-seconds `time` this large is in milliseconds (year 5138 otherwise): RabbitMQ
# 3.13.0-3.13.2 converted AMQP 1.0 times wrongly (rabbitmq-server PR #11608).
_MILLIS_THRESHOLD = 10**11
_NOTE_CHARS = 60
_INTEGER_LIMIT = 2**64  # AMQP integers are at most 64 bits; larger numbers are not counts


@dataclass(frozen=True)
class Death:
    """One history entry: dead-lettered `count` times from `queue` for `reason`."""

    queue: str | None
    reason: str | None
    count: int  # >= 0; an entry whose count is unreadable counts as 1 (it did die once)
    exchange: str | None  # "" is the default exchange
    routing_keys: tuple[str, ...]
    time: datetime | None  # the first death for this (queue, reason), UTC, whole seconds
    last_time: datetime | None = None  # AMQP 1.0 `last-time`; 0-9-1 does not record it
    original_expiration: str | None = None  # 0-9-1 `original-expiration`, AMQP 1.0 `ttl`

    def as_json(self) -> dict[str, Any]:
        """The entry in `x-death` naming, times as RFC 3339 UTC (it reads back the same)."""
        entry: dict[str, Any] = {
            "queue": self.queue, "reason": self.reason, "count": self.count,
            "exchange": self.exchange, "routing-keys": list(self.routing_keys),
            "time": _iso(self.time),
        }
        if self.last_time is not None:
            entry["last-time"] = _iso(self.last_time)
        if self.original_expiration is not None:
            entry["original-expiration"] = self.original_expiration
        return entry


@dataclass(frozen=True)
class DeathHistory:
    """What a message's headers (or AMQP 1.0 annotations) say about how it died."""

    entries: tuple[Death, ...] = ()  # most recent first, as the broker writes them
    first_queue: str | None = None
    first_reason: str | None = None
    first_exchange: str | None = None
    last_queue: str | None = None
    last_reason: str | None = None
    last_exchange: str | None = None
    ignored: tuple[str, ...] = field(default=())  # what was left out or guessed, and why

    @property
    def total(self) -> int:
        """How many times the message was dead-lettered, over every (queue, reason)."""
        return sum(entry.count for entry in self.entries)

    @property
    def latest(self) -> Death | None:
        """The most recent entry: the latest `last-time` when known, else the first one."""
        if not self.entries:
            return None
        timed = [entry for entry in self.entries if entry.last_time is not None]
        if timed:
            return max(timed, key=lambda entry: entry.last_time or _EPOCH)
        return self.entries[0]

    @property
    def first_time(self) -> datetime | None:
        """The earliest death time recorded anywhere in the history."""
        times = self._times()
        return min(times) if times else None

    @property
    def last_time(self) -> datetime | None:
        """The latest death time recorded (0-9-1 keeps only first times per entry)."""
        times = self._times()
        return max(times) if times else None

    def _times(self) -> list[datetime]:
        return [time for entry in self.entries for time in (entry.time, entry.last_time)
                if time is not None]

    @property
    def queue(self) -> str | None:
        """The queue it most recently died in."""
        latest = self.latest
        return (latest.queue if latest else None) or self.last_queue or self.first_queue

    @property
    def reason(self) -> str | None:
        """Why it most recently died."""
        latest = self.latest
        return (latest.reason if latest else None) or self.last_reason or self.first_reason

    @property
    def exchange(self) -> str | None:
        """The exchange it was published to before its latest death (None for the default)."""
        latest = self.latest
        return (latest.exchange if latest else None) or self.last_exchange or self.first_exchange

    @property
    def routing_key(self) -> str | None:
        """The first routing key it had before its latest death."""
        latest = self.latest
        return latest.routing_keys[0] if latest and latest.routing_keys else None

    def as_json(self) -> list[dict[str, Any]]:
        """The entries as JSON-ready objects (for the `history` column)."""
        return [entry.as_json() for entry in self.entries]


def read_deaths(headers: Any) -> DeathHistory:
    """The death history in an AMQP header table or AMQP 1.0 annotations map; never raises."""
    try:
        return _read(headers)
    except Exception as exc:  # noqa: BLE001 - a hostile mapping: say so instead of failing
        return DeathHistory(ignored=(f"headers unreadable ({type(exc).__name__})",))


def _read(headers: Any) -> DeathHistory:
    table = _table(headers)
    if table is None:
        ignored = () if headers is None else (f"headers not a table ({type(headers).__name__})",)
        return DeathHistory(ignored=ignored)
    notes: list[str] = []
    entries = _entries(table, notes)
    named = {name: _name(table.get(f"x-{name}"), f"x-{name}", notes) for name in _NAMED}
    return DeathHistory(
        entries=tuple(entries),
        first_queue=named["first-death-queue"], first_reason=named["first-death-reason"],
        first_exchange=named["first-death-exchange"], last_queue=named["last-death-queue"],
        last_reason=named["last-death-reason"], last_exchange=named["last-death-exchange"],
        ignored=tuple(notes),
    )


_NAMED = (
    "first-death-queue", "first-death-reason", "first-death-exchange",
    "last-death-queue", "last-death-reason", "last-death-exchange",
)


def _table(value: Any) -> dict[str, Any] | None:
    """A mapping with its keys as text (symbols and bytes keys decoded), else None."""
    value = _described(value)
    if not isinstance(value, Mapping):
        return None
    table: dict[str, Any] = {}
    for key, inner in value.items():
        name = _decoded(key)
        if name is not None:
            table.setdefault(name, inner)
    return table


def _described(value: Any) -> Any:
    """An AMQP 1.0 described value's inner value (proton `Described`); anything else as is."""
    if isinstance(value, Mapping | list | tuple | str | bytes | int | float | datetime):
        return value
    inner = getattr(value, "value", None)
    return inner if isinstance(inner, Mapping | list | tuple) else value


def _entries(table: dict[str, Any], notes: list[str]) -> list[Death]:
    for header, millis in ((X_DEATH, False), (X_OPT_DEATHS, True)):
        raw = _described(table.get(header))
        if raw is None:
            continue
        if isinstance(raw, Mapping):
            raw = [raw]  # lenient: one table where an array of tables was expected
        if not isinstance(raw, list | tuple):
            notes.append(f"{header}: not an array ({type(raw).__name__})")
            continue
        return [death for index, item in enumerate(raw)
                if (death := _entry(item, f"{header}[{index}]", millis, notes)) is not None]
    return []


def _entry(item: Any, where: str, millis: bool, notes: list[str]) -> Death | None:
    try:
        table = _table(item)
        if table is None:
            notes.append(f"{where}: not a table ({type(item).__name__})")
            return None
        return _death(table, where, millis, notes)
    except Exception as exc:  # noqa: BLE001 - one odd entry must not lose the others
        notes.append(f"{where}: unreadable ({type(exc).__name__})")
        return None


def _death(table: dict[str, Any], where: str, millis: bool, notes: list[str]) -> Death:
    first_key = "first-time" if "first-time" in table else "time"
    first_millis = millis or first_key == "first-time"
    expiration = table.get("original-expiration", table.get("ttl"))
    return Death(
        queue=_name(table.get("queue"), f"{where}.queue", notes),
        reason=_name(table.get("reason"), f"{where}.reason", notes),
        count=_count(table.get("count"), f"{where}.count", notes),
        exchange=_decoded(table.get("exchange")),
        routing_keys=_routing_keys(table.get("routing-keys"), f"{where}.routing-keys", notes),
        time=_time(table.get(first_key), first_millis, f"{where}.{first_key}", notes),
        last_time=_time(table.get("last-time"), True, f"{where}.last-time", notes),
        original_expiration=None if expiration is None else _plain(expiration),
    )


def _decoded(value: Any) -> str | None:
    """Text from str (and subclasses such as AMQP symbols) or UTF-8 bytes; else None."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    return None


def _name(value: Any, where: str, notes: list[str]) -> str | None:
    """A queue, reason or exchange name; empty means not given."""
    text = _decoded(value)
    if text is None and value is not None:
        notes.append(f"{where}: not text ({_show(value)})")
    return text or None


def _plain(value: Any) -> str:
    text = _decoded(value)
    return text if text is not None else str(value)[:_NOTE_CHARS]


def _routing_keys(value: Any, where: str, notes: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    single = _decoded(value)
    if single is not None:
        return (single,)  # lenient: one key where an array was expected
    if not isinstance(value, list | tuple):
        notes.append(f"{where}: not an array ({_show(value)})")
        return ()
    keys = [_decoded(key) for key in value]
    if None in keys:
        notes.append(f"{where}: non-text keys left out")
    return tuple(key for key in keys if key is not None)


def _count(value: Any, where: str, notes: list[str]) -> int:
    number = _integer(value)
    if number is None or number < 0:
        notes.append(f"{where}: unusable ({_show(value)}), taken as 1")
        return 1
    return number


def _integer(value: Any) -> int | None:
    """An integer below 2**64 from int (not bool), an integral float or Decimal, or text."""
    if isinstance(value, bool):
        return None
    number: int | None = None
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, float | Decimal):
        finite = math.isfinite(value) if isinstance(value, float) else value.is_finite()
        if finite and abs(float(value)) < _INTEGER_LIMIT and value == int(value):
            number = int(value)
    else:
        text = _decoded(value)
        if text is not None and 0 < len(text.strip()) <= 20 and text.strip().isdecimal():
            number = int(text)
    return number if number is not None and abs(number) < _INTEGER_LIMIT else None


def _time(value: Any, millis: bool, where: str, notes: list[str]) -> datetime | None:
    """An AMQP timestamp as an aware UTC datetime cut to whole seconds, else None (noted)."""
    if value is None:
        return None
    try:
        result = _aware(value) if isinstance(value, datetime) else _epoch(value, millis, where,
                                                                          notes)
    except (OverflowError, ValueError, ArithmeticError):
        result = None
    if result is None:
        notes.append(f"{where}: not a time ({_show(value)})")
    return result


def _aware(value: datetime) -> datetime:
    """A datetime in UTC (naive ones are taken as UTC), cut to whole seconds."""
    moved = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moved.replace(microsecond=0)


def _epoch(value: Any, millis: bool, where: str, notes: list[str]) -> datetime | None:
    """Epoch seconds (or milliseconds) from a number or text, or an RFC 3339 text."""
    number: float | int | Decimal | None = None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = value
    elif (text := _decoded(value)) is not None:
        try:
            number = float(text) if text.strip() else None
        except ValueError:
            return _parsed_time(text)
    if number is None or not math.isfinite(number):
        return None
    if not millis and number >= _MILLIS_THRESHOLD:
        notes.append(f"{where}: {_show(value)} read as milliseconds")
        millis = True
    seconds = int(number // 1000) if millis else int(number)
    if not 0 <= seconds <= _MAX_SECONDS:
        return None
    return _EPOCH + timedelta(seconds=seconds)


def _parsed_time(text: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 text as a UTC datetime (what `as_json` writes reads back)."""
    try:
        parsed: datetime | None = datetime.fromisoformat(text.strip())
    except ValueError:
        parsed = time_from_rfc3339(text)
    return _aware(parsed) if parsed is not None else None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _show(value: Any) -> str:
    """A short, safe description of an odd value for a note."""
    text = repr(value)
    text = text if len(text) <= _NOTE_CHARS else text[: _NOTE_CHARS - 1] + "…"
    return "".join(char if char.isprintable() else "?" for char in text)
