"""Stock movements at the stores and their application by the ERP, the storefront and the WMS."""

from __future__ import annotations

from typing import Any

import orjson

from collectors.demo.clock import MINUTE, SECOND
from collectors.demo.cloudevents import Made, uuid4
from collectors.demo.context import ERP, SHOP, WMS, Context, store_source
from collectors.demo.emitter import Emitter
from collectors.demo.otlp import CLIENT, CONSUMER, PRODUCER, SERVER, error_status, new_trace_id

SYNC = "inventory-sync"
# system -> (event source, API the sync service calls, its host, slowest normal delay in ms)
_TARGETS = {
    "erp": (ERP, "https://erp.example/api/itemJournals", "erp.example", 240_000),
    "ecommerce": (SHOP, "https://acme.myshopify.com/admin/api/2025-01/inventory_levels/adjust.json",
                  "acme.myshopify.com", 480_000),
    "wms": (WMS, "https://wms.example/api/v2/stock-receipts", "wms.example", 600_000),
}
UNAPPLIED_EVERY = 300  # one in this many storefront updates is silently lost: open inventory lag


class Stock(Emitter):
    """Publishes movements from the stores and records when each downstream system applied them."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pending: list[Made] = []
        self._storefront_updates = 0

    def received(self, store: str, at: int) -> int:
        """When the middleware got the store's record of `at` (late if the store was offline)."""
        if self.ctx.offline(store, at):
            return self.ctx.windows.synced_at(at)
        return at + self.ms(150, 2500)

    def movement(self, kind: str, store: str, sku: str, quantity: int, at: int, received: int,
                 channel: str, parent: tuple[str, str] | None,
                 subject: str | None) -> Made | None:
        """Publish one movement; its applications wait in `pending` until `flush`."""
        facts = self.ctx.facts
        facts.movements += 1
        trace, producer, consumer, published, consumed = self._publish(kind, received, parent,
                                                                       subject)
        data = {"movement_id": f"MV-{facts.movements:09d}", "store_id": store, "sku": sku,
                "quantity": quantity, "kind": kind}
        made = self.ctx.events.make("inventory.movement", store_source(store), subject, at,
                                    published, trace, producer, channel,
                                    orjson.dumps(data).decode())
        systems = ("erp", "ecommerce", "wms") if kind == "transfer" else ("erp", "ecommerce")
        for system in systems:
            self._apply(system, trace, consumer, data, consumed, channel, subject)
        return made

    def _publish(self, kind: str, received: int, parent: tuple[str, str] | None,
                 subject: str | None) -> tuple[str, str, str, int, int]:
        """The POS sync publishes the movement; the inventory sync consumes it.

        Returns the trace, producer and consumer spans, and when it was published and consumed.
        """
        if parent is None:
            trace = new_trace_id(self.rng)
            route = "/pos/v1/stock-movements"
            server = self.span("pos-sync", trace, None, f"POST {route}", SERVER, received,
                               received + self.ms(10, 60), self.served(route, 202, None))
        else:
            trace, server = parent
        rnd = self._random  # inlined draws: every basket line runs through here
        published = received + 2_000 + int(8_000 * rnd())
        message_id = uuid4(self.rng)
        key = f"movement.{kind}"
        producer = self.span("pos-sync", trace, server, "inventory publish", PRODUCER, published,
                             published + 1_000 + int(3_000 * rnd()),
                             self.messaging("inventory", key, "publish", message_id, subject))
        consumed = published + 5_000 + int(35_000 * rnd())
        consumer = self.span(SYNC, trace, producer, "inventory.movements process", CONSUMER,
                             consumed, consumed + 3_000 + int(17_000 * rnd()),
                             self.messaging("inventory", key, "process", message_id, subject),
                             remote=True)
        return trace, producer, consumer, published, consumed

    def _apply(self, system: str, trace: str, consumer: str, data: dict[str, Any], ready: int,
               channel: str, subject: str | None) -> None:
        source, url, host, slowest = _TARGETS[system]
        rnd = self._random
        at = ready + 3_000_000 + int((slowest - 3_000) * 1000 * rnd())
        windows = self.ctx.windows
        if system == "erp" and windows.in_outage(at):
            self.span(SYNC, trace, consumer, "POST", CLIENT, at, at + 30 * SECOND,
                      self.called(url, host, None, subject),
                      status=error_status(f"Timeout after 30000 ms calling POST {url}"))
            # the sync service retries with backoff and gets through once the ERP is back
            at = windows.outage_end + self.ms(60_000, 12 * 60_000)
        if system == "ecommerce" and at <= self.now - 30 * MINUTE:
            self._storefront_updates += 1
            if self._storefront_updates % UNAPPLIED_EVERY == UNAPPLIED_EVERY // 2:
                self.ctx.facts.unapplied.add({**data, "system": system})
                return
        if at > self.now:
            return
        call = at - 80_000 - int(520_000 * rnd())
        client = self.span(SYNC, trace, consumer, "POST", CLIENT, call, at,
                           self.called(url, host, 200, subject))
        applied = orjson.dumps({**data, "system": system}).decode()
        made = self.ctx.events.make("inventory.applied", source, subject, at,
                                    at + 20_000 + int(280_000 * rnd()), trace, client, channel,
                                    applied)
        if made is not None:
            self.ctx.facts.applied += 1
            self.pending.append(made)

    def flush(self) -> None:
        """Write the applications recorded since the last flush."""
        for made in self.pending:
            self.ctx.events.write(made)
        self.pending.clear()

    def standalone(self, kind: str, at: int) -> None:
        """A stock count adjustment or a transfer receipt at some store, not tied to an order."""
        store = self.ctx.catalog.store(self.rng, at)
        sku = self.ctx.catalog.skus[self.ctx.catalog.sku_index(self.rng)]
        if kind == "adjustment":
            quantity = self.rng.choice((-3, -2, -1, -1, 1, 2))
        else:
            quantity = 6 * (1 + int(self.rng.random() * 4))
        received = self.received(store, at)
        self.ctx.events.write(self.movement(kind, store, sku, quantity, at, received, "pos",
                                            None, None))
        self.flush()
