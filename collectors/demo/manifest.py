"""The manifest: ground truth about what was generated, for tests and for the curious."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from collectors.demo.catalog import LAUNCH_POS_CENTS, LAUNCH_SKU, LAUNCH_WEB_CENTS
from collectors.demo.clock import US, iso
from collectors.demo.context import Context, Order
from collectors.demo.deadletters import DLX
from collectors.demo.fates import STUCK_STATES, Fates
from collectors.demo.schedule import FLASH_MULTIPLIER
from collectors.demo.sla import Policy
from collectors.demo.writers import FileStat, Spool


def record_order(ctx: Context, policy: Policy, order: Order, fate: str | None) -> None:
    """Note what the finished order contributes to the scenario facts."""
    facts, states, windows = ctx.facts, order.states, ctx.windows
    if "captured" not in states:
        return  # captured so close to `now` that nothing was recorded yet
    facts.tally(facts.orders_by_channel, order.channel)
    latest = max(states, key=states.__getitem__)
    facts.tally(facts.orders_by_state, latest)
    if fate in STUCK_STATES and not order.stopped and latest == STUCK_STATES[fate]:
        facts.stuck.add({"order_id": order.order_id, "order_name": order.name,
                         "channel": order.channel, "state": latest,
                         "since": ctx.events.rfc3339(states[latest])})
    if fate == "boris" and "return_received" in states:
        facts.boris.add({"order_id": order.order_id, "order_name": order.name,
                         "store_id": order.returned_to,
                         "received_at": ctx.events.rfc3339(states["return_received"])})
    if order.lines[0][0] == LAUNCH_SKU:
        facts.tally(facts.launch_orders, order.channel)
    if order.channel == "ecommerce":
        facts.flash_orders += windows.flash_start <= order.at < windows.flash_end
        facts.baseline_orders += windows.baseline_start <= order.at < windows.baseline_end
    for breach in policy.evaluate(order.channel, states, ctx.now):
        facts.breaches.add({"order_id": order.order_id, "order_name": order.name,
                            "channel": order.channel, "rule": breach.rule,
                            "status": breach.status, "elapsed_seconds": breach.elapsed / US})
        counts = facts.breach_counts.setdefault(breach.rule, {"closed": 0, "open": 0})
        counts[breach.status] += 1


def write_manifest(out_dir: Path, ctx: Context, policy: Policy, fates: Fates,
                   stats: list[FileStat], *, seed: int, orders: int,
                   quarantine: dict[str, Any]) -> Path:
    """Write `manifest.json`: small sections as objects, the long lists streamed from spools."""
    facts = ctx.facts
    sections = _sections(out_dir, ctx, policy, fates, stats, seed=seed, orders=orders)
    sections["quarantine"] = quarantine  # damaged input planted on purpose (demo/quarantine.py)
    lists: dict[str, Spool] = {
        "stuck_orders": facts.stuck, "boris_orders": facts.boris,
        "sla_breaches": facts.breaches, "erp_outage_orders": facts.outage_orders,
        "unapplied_movements": facts.unapplied,
    }
    path = out_dir / "manifest.json"
    with path.open("wb") as handle:
        handle.write(b"{\n")
        for key, value in sections.items():
            handle.write(b'"%s": %s,\n' % (key.encode(), orjson.dumps(value)))
        for position, (key, spool) in enumerate(lists.items()):
            handle.write(b'"%s": [' % key.encode())
            for index, line in enumerate(spool.lines()):
                handle.write(b"\n  " if index == 0 else b",\n  ")
                handle.write(line)
            handle.write(b"\n]" if spool.count else b"]")
            handle.write(b",\n" if position < len(lists) - 1 else b"\n")
            spool.discard()
        handle.write(b"}\n")
    return path


def _sections(out_dir: Path, ctx: Context, policy: Policy, fates: Fates, stats: list[FileStat],
              *, seed: int, orders: int) -> dict[str, Any]:
    facts, windows, events = ctx.facts, ctx.windows, ctx.events
    return {
        "generator": {"seed": seed, "orders_requested": orders, "now": iso(windows.now),
                      "window_start": iso(windows.aged_start), "window_end": iso(windows.now)},
        "counts": {"orders": sum(facts.orders_by_channel.values()), "events": events.total,
                   "spans": ctx.spans.total, "dead_letters": ctx.dead.total,
                   "events_by_type": dict(sorted(events.by_type.items())),
                   "orders_by_channel": dict(sorted(facts.orders_by_channel.items())),
                   "orders_by_state": dict(sorted(facts.orders_by_state.items()))},
        "files": [_file(out_dir, stat) for stat in stats],
        **_scenarios(ctx),
        "poison_message_id": facts.poison.get("message_id"),
        "sla": {"rules": {rule.name: {"from": rule.start, "to": rule.to,
                                      "within_seconds": rule.within / US,
                                      "channels": sorted(rule.channels) if rule.channels else None}
                          for rule in policy.rules},
                "breaches": {rule.name: facts.breach_counts.get(rule.name, {"closed": 0, "open": 0})
                             for rule in policy.rules}},
        "inventory": {"movements": facts.movements, "applied": facts.applied,
                      "stale_after": policy.stale_after, "unapplied": facts.unapplied.count},
        "fates": fates.taken(),
    }


def _scenarios(ctx: Context) -> dict[str, Any]:
    """Where and when each story happens, with what the generator counted of it."""
    facts, windows = ctx.facts, ctx.windows
    store = ctx.catalog.offline_store
    return {
        "flash_sale": {"start": iso(windows.flash_start), "end": iso(windows.flash_end),
                       "multiplier": FLASH_MULTIPLIER, "source": "/shopify/acme",
                       "channel": "ecommerce", "orders": facts.flash_orders,
                       "baseline_start": iso(windows.baseline_start),
                       "baseline_end": iso(windows.baseline_end),
                       "baseline_orders": facts.baseline_orders},
        "launch": {"sku": LAUNCH_SKU, "at": iso(windows.launch_at),
                   "pos_price": LAUNCH_POS_CENTS / 100, "storefront_price": LAUNCH_WEB_CENTS / 100,
                   "orders_by_channel": dict(sorted(facts.launch_orders.items()))},
        "offline_store": {"store_id": store, "source": f"/pos/store/{store}",
                          "start": iso(windows.offline_start), "end": iso(windows.offline_end),
                          "synced_by": iso(windows.sync_end), "late_events": facts.offline_events,
                          "max_lag_seconds": facts.offline_max_lag / US},
        "silent_store": {"store_id": ctx.catalog.silent_store,
                         "source": f"/pos/store/{ctx.catalog.silent_store}",
                         "since": iso(windows.silent_from)},
        "erp_outage": {"start": iso(windows.outage_start), "end": iso(windows.outage_end),
                       "affected_orders": facts.outage_orders.count},
        "dead_letters": {"exchange": DLX, "queues": ctx.dead.counts(),
                         "by_reason": dict(sorted(ctx.dead.by_reason.items())),
                         "by_kind": dict(sorted(facts.dlq_kinds.items())),
                         "poison_message_id": facts.poison.get("message_id"),
                         "poison_order_id": facts.poison.get("order_id"),
                         "poison_queue": facts.poison.get("queue")},
    }


def _file(out_dir: Path, stat: FileStat) -> dict[str, Any]:
    kind = stat.path.parent.name
    unit = {"events": "events", "traces": "spans", "dlq": "messages"}[kind]
    entry: dict[str, Any] = {"path": stat.path.relative_to(out_dir).as_posix(), "kind": kind,
                             "lines": stat.lines, unit: stat.items, "bytes": stat.size}
    if stat.kinds:
        entry["by_type" if kind == "events" else "by_service"] = dict(sorted(stat.kinds.items()))
    return entry
