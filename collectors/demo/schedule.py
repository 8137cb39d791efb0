"""When orders arrive: per-minute counts per channel, shaped by the day and the flash sale."""

from __future__ import annotations

from collections.abc import Iterator
from random import Random

from collectors.demo.clock import DAY, HOUR, MINUTE

CHANNELS = ("pos", "ecommerce", "bopis", "marketplace")
FLASH_MULTIPLIER = 8
_WEB = (0.35, 0.2, 0.12, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0,
        1.1, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 1.0, 0.6)
# stores trade from 08:00 to 21:00 UTC with a lunch and an after-work peak
_POS = (0, 0, 0, 0, 0, 0, 0, 0, 0.4, 0.7, 0.9, 1.1,
        1.4, 1.3, 1.0, 1.0, 1.2, 1.5, 1.4, 1.0, 0.6, 0, 0, 0)
_CURVES = {
    "pos": _POS,
    "ecommerce": tuple(0.46 * rate for rate in _WEB),
    "bopis": tuple(0.144 * rate for rate in _WEB),
    "marketplace": tuple(0.103 * (0.5 + 0.5 * rate) for rate in _WEB),
}


class Schedule:
    """How many orders of each channel are captured in each minute of the window."""

    def __init__(self, total: int, start: int, end: int, flash: tuple[int, int]) -> None:
        self.start = start
        minutes = (end - start) // MINUTE
        weights = [[self._rate(channel, start + m * MINUTE, flash) for m in range(minutes)]
                   for channel in CHANNELS]
        totals = _largest_remainder(total, [sum(row) for row in weights])
        columns = [_spread(count, row) for count, row in zip(totals, weights, strict=True)]
        self.counts: list[tuple[int, ...]] = list(zip(*columns, strict=True))

    @staticmethod
    def _rate(channel: str, stamp: int, flash: tuple[int, int]) -> float:
        rate = _CURVES[channel][stamp % DAY // HOUR]
        if channel == "ecommerce" and flash[0] <= stamp < flash[1]:
            rate *= FLASH_MULTIPLIER
        return rate

    def eligible(self, channels: frozenset[str], since: int, until: int) -> int:
        """Orders of these channels captured in [since, until)."""
        first = max(0, -(-(since - self.start) // MINUTE))
        last = min(len(self.counts), max(0, -(-(until - self.start) // MINUTE)))
        picks = [index for index, channel in enumerate(CHANNELS) if channel in channels]
        return sum(row[index] for row in self.counts[first:last] for index in picks)

    def captures(self, rng: Random) -> Iterator[tuple[int, str]]:
        """Every (capture time, channel) in time order, without holding more than one minute."""
        for minute, row in enumerate(self.counts):
            remaining = list(row)
            left = sum(remaining)
            position = 0.0
            base = self.start + minute * MINUTE
            while left:
                # the next order statistic of `left` uniforms: sorted times without sorting
                position = 1.0 - (1.0 - position) * rng.random() ** (1.0 / left)
                pick = rng.random() * left
                index = 0
                while pick >= remaining[index]:
                    pick -= remaining[index]
                    index += 1
                remaining[index] -= 1
                left -= 1
                yield base + int(position * MINUTE), CHANNELS[index]


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` into integers that add up exactly."""
    whole = sum(weights)
    exact = [total * weight / whole for weight in weights]
    counts = [int(share) for share in exact]
    by_remainder = sorted(range(len(exact)), key=lambda index: counts[index] - exact[index])
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


def _spread(count: int, weights: list[float]) -> list[int]:
    """Distribute `count` over bins by cumulative rounding, so every bin gets its fair share."""
    whole = sum(weights) or 1.0
    spread: list[int] = []
    running = 0.0
    placed = 0
    for weight in weights:
        running += weight
        upto = min(count, int(count * running / whole + 0.5))
        spread.append(upto - placed)
        placed = upto
    spread[-1] += count - placed
    return spread


class Quota:
    """Hands a scenario to exactly `target` of the eligible orders, spread evenly over them."""

    __slots__ = ("name", "target", "step", "credit", "taken")

    def __init__(self, name: str, target: int, eligible: int) -> None:
        self.name = name
        self.target = min(target, eligible)
        self.step = self.target / eligible if eligible else 0.0
        self.credit = 0.5
        self.taken = 0

    @classmethod
    def share(cls, name: str, rate: float, minimum: int, eligible: int) -> Quota:
        """A quota of `rate` of the eligible orders, but at least `minimum`."""
        return cls(name, max(minimum, round(rate * eligible)), eligible)

    def tick(self) -> None:
        """Count one more eligible order."""
        self.credit += self.step

    def ready(self) -> bool:
        """Whether this scenario is owed an order now."""
        return self.credit >= 1.0 and self.taken < self.target

    def claim(self) -> None:
        """Give this order to the scenario."""
        self.credit -= 1.0
        self.taken += 1
