"""`generate`: stream a whole demo estate (traces, events, dead letters, manifest) into a folder."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from random import Random

from collectors.demo.catalog import (
    LAUNCH_POS_CENTS,
    LAUNCH_SKU,
    LAUNCH_WEB_CENTS,
    Catalog,
    launch_line,
)
from collectors.demo.clock import MINUTE, Windows, default_now, from_us, to_us
from collectors.demo.cloudevents import EventSink
from collectors.demo.context import Context, Facts, Order
from collectors.demo.deadletters import DeadLetters
from collectors.demo.fates import Fates
from collectors.demo.heartbeats import Heartbeats
from collectors.demo.journeys import Journeys
from collectors.demo.manifest import record_order, write_manifest
from collectors.demo.otlp import SpanSink
from collectors.demo.quarantine import EDGE_EXPORT, TILL_LOG, plant
from collectors.demo.schedule import Schedule
from collectors.demo.sla import Policy
from collectors.demo.writers import RotatingJsonl, Spool


@dataclass
class EstateSummary:
    """What `generate` wrote, how long it took, and where each scenario lies."""

    orders: int
    events: int
    spans: int
    dead_letters: int
    files: list[Path]
    seconds: float
    now: datetime
    window_start: datetime
    flash_sale: tuple[datetime, datetime]
    offline_store: str
    offline_window: tuple[datetime, datetime]
    erp_outage: tuple[datetime, datetime]
    poison_message_id: str
    launch_sku: str
    launch_prices: dict[str, float]
    boris_orders: int
    stuck_orders: int
    sla_breaches: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        """Business events written per second of generation."""
        return self.events / self.seconds if self.seconds else 0.0


def generate(out_dir: Path, *, orders: int = 3000, seed: int = 7,
             now: datetime | None = None) -> EstateSummary:
    """Write a demo estate of `orders` orders in the two days before `now` into `out_dir`."""
    if orders < 1:
        raise ValueError("orders must be at least 1")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    _clear(out_dir)
    windows = Windows.around(to_us(now or default_now()))
    rng = Random(seed)
    ctx, writers = _context(out_dir, windows, rng, seed, orders)
    aged = max(2, round(orders * 0.0005)) if orders >= 100 else 0
    schedule = Schedule(orders - 2 * aged, windows.start, windows.now,
                        (windows.flash_start, windows.flash_end))
    fates = Fates(schedule, windows)
    policy = Policy()
    ctx.states = policy.states
    journeys = Journeys(ctx)
    heartbeats = Heartbeats(ctx, seed)
    for order, fate in _orders(ctx, schedule, fates, aged):
        heartbeats.until(order.at)
        journeys.run(order, fate)
        record_order(ctx, policy, order, fate)
        if order.channel == "pos":
            _store_chores(journeys, rng, order.at)
    heartbeats.until(windows.now)
    ctx.spans.flush()
    ctx.events.flush(final=True)
    stats = writers[0].close() + writers[1].close() + ctx.dead.write(out_dir / "dlq")
    quarantine = plant(out_dir, ctx.catalog.offline_store, windows.now)
    manifest = write_manifest(out_dir, ctx, policy, fates, stats, seed=seed, orders=orders,
                              quarantine=quarantine)
    shutil.rmtree(out_dir / ".spool", ignore_errors=True)
    planted = [out_dir / name for name in quarantine["files"]]
    return _summary(ctx, orders, [*(stat.path for stat in stats), *planted, manifest],
                    time.perf_counter() - started)


def _clear(out_dir: Path) -> None:
    """Remove what an earlier run wrote here, so no stale chunk survives a smaller run."""
    for pattern in ("traces/traces-*.jsonl", "events/events-*.jsonl", "dlq/*.json",
                    "manifest.json", TILL_LOG, EDGE_EXPORT):
        for old in out_dir.glob(pattern):
            old.unlink()
    shutil.rmtree(out_dir / ".spool", ignore_errors=True)


def _context(out_dir: Path, windows: Windows, rng: Random, seed: int,
             orders: int) -> tuple[Context, tuple[RotatingJsonl, RotatingJsonl]]:
    spool = out_dir / ".spool"
    events = RotatingJsonl(out_dir / "events", "events")
    traces = RotatingJsonl(out_dir / "traces", "traces")
    facts = Facts(stuck=Spool(spool / "stuck.jsonl"), boris=Spool(spool / "boris.jsonl"),
                  breaches=Spool(spool / "breaches.jsonl"),
                  outage_orders=Spool(spool / "outage.jsonl"),
                  unapplied=Spool(spool / "unapplied.jsonl"))
    ctx = Context(rng=rng, windows=windows, catalog=Catalog(seed, orders, windows.silent_from),
                  events=EventSink(events, windows.now, rng),
                  spans=SpanSink(traces, windows.now, rng),
                  dead=DeadLetters(spool), facts=facts, states={})
    return ctx, (events, traces)


def _orders(ctx: Context, schedule: Schedule, fates: Fates,
            aged: int) -> Iterator[tuple[Order, str | None]]:
    """Every order in capture order with its fate: first the aged POS sales, then the schedule."""
    numbers = _Numbers()
    fate: str | None
    for index in range(2 * aged):
        # a few sales two days back, so invoice-to-settle (2d) can be breached inside the data
        at = ctx.windows.aged_start + (index + 1) * 40 * MINUTE // (2 * aged + 1)
        at += ctx.between(0, MINUTE // 2)
        fate = "aged_settle_late" if index % 2 else "aged_unsettled"
        yield _order(ctx, numbers, "pos", at, False, fate), fate
    for at, channel in schedule.captures(ctx.rng):
        fate = fates.pick(channel, at)
        yield _order(ctx, numbers, channel, at, fates.launch(channel, at), fate), fate


class _Numbers:
    """Order numbering: one storefront sequence (#1001, …) and a receipt counter per store."""

    def __init__(self) -> None:
        self.seq = 0
        self.storefront = 1000
        self.receipts: dict[str, int] = {}

    def next(self, channel: str, store: str | None) -> tuple[int, str]:
        self.seq += 1
        if channel == "pos":
            receipt = self.receipts[store or ""] = self.receipts.get(store or "", 0) + 1
            return self.seq, f"POS-{store}-{receipt:06d}"
        self.storefront += 1
        return self.seq, f"#{self.storefront}"


def _order(ctx: Context, numbers: _Numbers, channel: str, at: int, launch: bool,
           fate: str | None) -> Order:
    rng, catalog = ctx.rng, ctx.catalog
    # a pickup order's store must still be heard from when the customer collects: at the end
    heard_at = at if channel == "pos" else ctx.now
    store = catalog.store(rng, heard_at) if channel in ("pos", "bopis") else None
    email = catalog.email(rng) if channel != "pos" or rng.random() < 0.5 else None
    if channel == "pos" and fate == "schema_reject":
        email = None  # a walk-in sale: its rejected invoice holds no personal data to mask
    lines = [launch_line(channel)] if launch else catalog.basket(rng)
    seq, name = numbers.next(channel, store)
    return Order(seq, name, channel, store, email, lines, at)


def _store_chores(journeys: Journeys, rng: Random, at: int) -> None:
    """Stock counts and transfer receipts happen at the stores while they trade."""
    if rng.random() < 0.08:
        journeys.stock.standalone("adjustment", at + 1000)
    if rng.random() < 0.02:
        journeys.stock.standalone("transfer", at + 2000)


def _summary(ctx: Context, orders: int, files: list[Path], seconds: float) -> EstateSummary:
    windows, facts = ctx.windows, ctx.facts
    return EstateSummary(
        orders=orders, events=ctx.events.total, spans=ctx.spans.total,
        dead_letters=ctx.dead.total, files=files, seconds=seconds,
        now=from_us(windows.now), window_start=from_us(windows.aged_start),
        flash_sale=(from_us(windows.flash_start), from_us(windows.flash_end)),
        offline_store=ctx.catalog.offline_store,
        offline_window=(from_us(windows.offline_start), from_us(windows.offline_end)),
        erp_outage=(from_us(windows.outage_start), from_us(windows.outage_end)),
        poison_message_id=facts.poison.get("message_id", ""), launch_sku=LAUNCH_SKU,
        launch_prices={"pos": LAUNCH_POS_CENTS / 100, "storefront": LAUNCH_WEB_CENTS / 100},
        boris_orders=facts.boris.count, stuck_orders=facts.stuck.count,
        sla_breaches=facts.breach_counts,
    )
