"""Instants and durations as people type them on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queries.errors import BackroomError
from queries.policy import parse_duration


class BadTime(BackroomError):
    """A --at/--from/--to/--since value that is not a time."""


def instant(text: str | None, option: str = "--at") -> datetime | None:
    """ISO 8601 ('2026-03-01T10:00Z', '2026-03-01 10:00+01:00', '2026-03-01') or 'now'; naive is UTC."""
    if text is None:
        return None
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadTime(f"{option} {text!r} is not a time like 2026-03-01T10:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def at_or_now(text: str | None) -> datetime:
    """The instant of an --at option, or now."""
    return instant(text) or datetime.now(UTC)


def duration(text: str | None, option: str = "--since") -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise BadTime(f"{option}: {exc}") from None
