"""What every hop needs: the random stream, the clock windows, the sinks, and one order's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import Any

import orjson

from collectors.demo.catalog import CURRENCY, Catalog, Line
from collectors.demo.clock import Windows
from collectors.demo.cloudevents import EventSink
from collectors.demo.deadletters import DeadLetters
from collectors.demo.otlp import SpanSink
from collectors.demo.writers import Spool

SHOP = "/shopify/acme"
ERP = "/erp/d365"
WMS = "/wms/dc1"
PSP = "/payments/psp"
ROUTER = "/middleware/order-router"


def store_source(store: str) -> str:
    """The CloudEvents source of one store's POS."""
    return f"/pos/store/{store}"


@dataclass
class Facts:
    """Scenario ground truth gathered while generating, for the manifest."""

    stuck: Spool
    boris: Spool
    breaches: Spool
    outage_orders: Spool
    unapplied: Spool
    poison: dict[str, str] = field(default_factory=dict)
    flash_orders: int = 0
    baseline_orders: int = 0
    launch_orders: dict[str, int] = field(default_factory=dict)
    offline_events: int = 0
    offline_max_lag: int = 0
    dlq_kinds: dict[str, int] = field(default_factory=dict)
    movements: int = 0
    applied: int = 0
    orders_by_channel: dict[str, int] = field(default_factory=dict)
    orders_by_state: dict[str, int] = field(default_factory=dict)
    breach_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def tally(self, table: dict[str, int], key: str) -> None:
        """Add one to a counter table."""
        table[key] = table.get(key, 0) + 1


@dataclass
class Context:
    """The shared generator state, passed to every hop."""

    rng: Random
    windows: Windows
    catalog: Catalog
    events: EventSink
    spans: SpanSink
    dead: DeadLetters
    facts: Facts
    states: dict[str, str]

    @property
    def now(self) -> int:
        """The instant nothing may lie after, in epoch microseconds."""
        return self.windows.now

    def offline(self, store: str | None, at: int) -> bool:
        """Whether `store` was cut off from the middleware at `at`."""
        windows = self.windows
        in_window = windows.offline_start <= at < windows.offline_end
        return in_window and store == self.catalog.offline_store

    def between(self, low: int, high: int) -> int:
        """A uniform random duration in [low, high] microseconds."""
        return low + int((high - low) * self.rng.random())


class Order:
    """One order being generated: identity, basket, and where its journey has got to."""

    __slots__ = ("seq", "order_id", "name", "channel", "store", "email", "lines", "cents", "data",
                 "data_json", "at", "trace", "parent", "root", "states", "stopped", "returned_to")

    def __init__(self, seq: int, name: str, channel: str, store: str | None, email: str | None,
                 lines: list[Line], at: int) -> None:
        self.seq = seq
        self.order_id = f"ORD-{seq:08d}"
        self.name = name
        self.channel = channel
        self.store = store
        self.email = email
        self.lines = lines
        self.cents = sum(quantity * price for _, quantity, price, _ in lines)
        self.at = at
        self.data: dict[str, Any] = {
            "order_id": self.order_id, "order_name": name, "customer_email": email,
            "store_id": store, "sku": lines[0][0], "quantity": sum(line[1] for line in lines),
            "amount": self.cents / 100, "currency": CURRENCY,
        }
        self.data_json = orjson.dumps(self.data).decode()
        self.trace = ""          # the trace the order's current hop runs in
        self.parent = ""         # the span the next hop hangs under
        self.root: tuple[str, str] = ("", "")  # the capture span, linked from later traces
        self.states: dict[str, int] = {}
        self.stopped = ""        # why the journey ended early, if it did
        self.returned_to: str | None = None  # the store a BORIS return came back to

    def at_store(self, store: str) -> str:
        """The order's event data as seen by another store (a BORIS return), as JSON text."""
        return orjson.dumps({**self.data, "store_id": store}).decode()
