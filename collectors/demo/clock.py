"""Epoch-microsecond arithmetic, RFC 3339 formatting and the scenario's time windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

US = 1_000_000
MS = 1_000
SECOND = US
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Epoch microseconds of an aware (or naive UTC) datetime, without float rounding."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(stamp: int) -> datetime:
    """The aware UTC datetime of epoch microseconds."""
    return _EPOCH + timedelta(microseconds=stamp)


def default_now() -> datetime:
    """The current UTC time truncated to the minute."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


_HOURS_MINUTES = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440)]
_TWO_DIGITS = [f"{number:02d}" for number in range(60)]
_MILLIS = [f"{number:03d}" for number in range(1000)]


class Rfc3339:
    """Formats epoch microseconds as RFC 3339 UTC with milliseconds and a `Z`."""

    def __init__(self) -> None:
        # only a handful of days occur, so the date part is cached and the rest looked up
        self._days: dict[int, str] = {}
        self._second = -1
        self._head = ""  # the text up to the milliseconds of `_second`

    def __call__(self, stamp: int) -> str:
        seconds, micros = divmod(stamp, US)
        if seconds != self._second:
            day, of_day = divmod(seconds, 86_400)
            date = self._days.get(day)
            if date is None:
                date = self._days[day] = from_us(day * DAY).strftime("%Y-%m-%dT")
            self._second = seconds
            self._head = f"{date}{_HOURS_MINUTES[of_day // 60]}:{_TWO_DIGITS[of_day % 60]}."
        return f"{self._head}{_MILLIS[micros // MS]}Z"


def iso(stamp: int) -> str:
    """RFC 3339 text of epoch microseconds, for the manifest."""
    return from_us(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_at(at_most: int, hour: int, minute: int = 0) -> int:
    """The latest instant <= `at_most` whose UTC wall clock reads hour:minute."""
    day_start = at_most - at_most % DAY
    candidate = day_start + hour * HOUR + minute * MINUTE
    return candidate if candidate <= at_most else candidate - DAY


@dataclass(frozen=True)
class Windows:
    """When each scenario happens, in epoch microseconds; everything lies before `now`."""

    now: int
    start: int
    aged_start: int
    flash_start: int
    flash_end: int
    baseline_start: int
    baseline_end: int
    launch_at: int
    offline_start: int
    offline_end: int
    sync_end: int
    outage_start: int
    outage_end: int
    silent_from: int

    @classmethod
    def around(cls, now: int) -> Windows:
        """Place the flash sale, the launch, the offline store, the ERP outage and the silent
        store before `now`."""
        flash = latest_at(now - 2 * HOUR, 19)
        if flash < now - DAY:
            # no 19:00 in the last day that has finished: take a whole hour half a day back
            flash = now - 12 * HOUR - (now - 12 * HOUR) % HOUR
        offline = latest_at(now - 8 * HOUR, 9, 30)
        outage = latest_at(now - 4 * HOUR, 15, 20)
        return cls(
            now=now, start=now - 2 * DAY, aged_start=now - 2 * DAY - 2 * HOUR,
            flash_start=flash, flash_end=flash + HOUR,
            baseline_start=flash - DAY, baseline_end=flash - DAY + HOUR,
            launch_at=flash - 11 * HOUR,
            offline_start=offline, offline_end=offline + 3 * HOUR + 30 * MINUTE,
            sync_end=offline + 3 * HOUR + 50 * MINUTE,
            outage_start=outage, outage_end=outage + 42 * MINUTE,
            silent_from=now - 47 * MINUTE,
        )

    def in_outage(self, stamp: int) -> bool:
        """Whether the ERP was down at `stamp`."""
        return self.outage_start <= stamp < self.outage_end

    def synced_at(self, stamp: int) -> int:
        """When the offline store's record of `stamp` reached the middleware."""
        offline = self.offline_end - self.offline_start
        # the store replays its journal in order, squeezing 3.5 hours into the sync minutes
        return self.offline_end + MINUTE + (stamp - self.offline_start) * (
            self.sync_end - self.offline_end - MINUTE) // offline
