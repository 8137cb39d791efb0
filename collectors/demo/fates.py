"""Which orders get which story: SLA breaches, stuck orders, returns, BORIS, poison, launch."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.demo.clock import HOUR, MINUTE, Windows
from collectors.demo.schedule import Quota, Schedule

WEB = frozenset({"ecommerce", "marketplace"})
ECOMMERCE = frozenset({"ecommerce"})
BOPIS = frozenset({"bopis"})
POS = frozenset({"pos"})


@dataclass(frozen=True)
class Fate:
    """A scenario for orders of `channels` captured between `oldest` and `youngest` hours ago."""

    name: str
    channels: frozenset[str]
    youngest: float
    oldest: float
    rate: float
    minimum: int


# first match wins, so the fates with the narrowest time windows come first
FATES = (
    Fate("pickup_late", BOPIS, 42, 48, 0.10, 2),
    Fate("refund_late", ECOMMERCE, 40, 48, 0.02, 2),
    Fate("pickup_never", BOPIS, 27, 48, 0.04, 2),
    Fate("refund_never", ECOMMERCE, 32, 48, 0.01, 2),
    Fate("boris", ECOMMERCE, 24, 48, 0.02, 3),
    Fate("return", ECOMMERCE, 24, 48, 0.03, 2),
    Fate("stuck_shipped", WEB, 14, 48, 0.004, 2),
    Fate("invoice_late", WEB, 14, 48, 0.006, 2),
    Fate("release_late", WEB, 8, 48, 0.006, 2),
    Fate("stuck_reserved", WEB, 4, 48, 0.004, 2),
    Fate("stuck_authorized", WEB | BOPIS, 3, 48, 0.004, 2),
    Fate("reserve_late", WEB, 1, 48, 0.006, 2),
    Fate("schema_reject", WEB | POS, 14, 48, 0.004, 3),
    Fate("stuck_captured", POS, 3, 48, 0.003, 2),
)
POISON = Fate("poison", ECOMMERCE, 26, 30, 0.0, 1)
STUCK_STATES = {"stuck_captured": "captured", "stuck_authorized": "payment_authorized",
                "stuck_reserved": "inventory_reserved", "stuck_shipped": "shipped"}
RETURNS = frozenset({"return", "boris", "refund_late", "refund_never"})


class Fates:
    """Deals fates to orders as they stream by, so each scenario gets its share and no more."""

    def __init__(self, schedule: Schedule, windows: Windows) -> None:
        self.windows = windows
        self._quotas: list[tuple[Fate, Quota, int, int]] = []
        for fate in (POISON, *FATES):
            since, until = self._span(fate)
            eligible = schedule.eligible(fate.channels, since, until)
            quota = Quota.share(fate.name, fate.rate, fate.minimum, eligible)
            self._quotas.append((fate, quota, since, until))
        self._by_channel = {
            channel: [entry for entry in self._quotas if channel in entry[0].channels]
            for channel in ("pos", "ecommerce", "bopis", "marketplace")
        }
        launch_window = (windows.launch_at, windows.now)
        self._launch = {
            channel: Quota.share(f"launch-{channel}", 0.05, 3,
                                 schedule.eligible(frozenset({channel}), *launch_window))
            for channel in ("pos", "ecommerce")
        }

    def _span(self, fate: Fate) -> tuple[int, int]:
        now = self.windows.now
        return now - int(fate.oldest * HOUR), now - int(fate.youngest * HOUR) + 1

    def pick(self, channel: str, at: int) -> str | None:
        """The fate of an order of `channel` captured at `at`, if any."""
        windows = self.windows
        if windows.outage_start - 15 * MINUTE <= at < windows.outage_end:
            return None  # the outage decides these orders' story
        chosen = None
        for fate, quota, since, until in self._by_channel[channel]:
            if since <= at < until:
                quota.tick()
                if chosen is None and quota.ready() and self._fits(fate, at):
                    quota.claim()
                    chosen = fate.name
        return chosen

    def _fits(self, fate: Fate, at: int) -> bool:
        """Keep the poison's reservation clear of the outage, so it dies of its own cause."""
        return fate is not POISON or not (
            self.windows.outage_start - HOUR <= at < self.windows.outage_end + HOUR)

    def launch(self, channel: str, at: int) -> bool:
        """Whether this order buys the launch SKU (only after the launch, in POS and online)."""
        quota = self._launch.get(channel)
        if quota is None or at < self.windows.launch_at:
            return False
        quota.tick()
        if quota.ready():
            quota.claim()
            return True
        return False

    def taken(self) -> dict[str, int]:
        """How many orders each fate was dealt."""
        return {fate.name: quota.taken for fate, quota, _, _ in self._quotas}
