"""Each channel's journey: when every hop happens, and where a fate bends or ends it."""

from __future__ import annotations

from collectors.demo.clock import DAY, HOUR, MINUTE, SECOND
from collectors.demo.cloudevents import Made
from collectors.demo.context import Context, Order
from collectors.demo.erp import ErpCalls
from collectors.demo.fates import RETURNS
from collectors.demo.hops import Hops
from collectors.demo.inventory import Stock

S, M, H = SECOND, MINUTE, HOUR


class Journeys:
    """Plays one order's journey through the estate, hop by hop, up to `now`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.now = ctx.now
        self.between = ctx.between
        self.hops = Hops(ctx)
        self.erp = ErpCalls(ctx)
        self.stock = Stock(ctx)

    def run(self, order: Order, fate: str | None) -> None:
        """Generate everything that happened to `order` before `now`."""
        if order.channel == "pos":
            self._pos(order, fate)
        elif order.channel == "bopis":
            self._bopis(order, fate)
        else:
            self._web(order, fate)

    def _web(self, order: Order, fate: str | None) -> None:
        hops, between = self.hops, self.between
        hops.capture_web(order)
        # the webhook can take 1.5 s to arrive; the authorisation never starts before it
        authorized = hops.authorize(order, order.at + between(3 * S, 15 * S))
        if fate == "stuck_authorized":
            return
        late = fate == "reserve_late"
        reserved = authorized + (between(6 * M, 40 * M) if late else between(5 * S, 90 * S))
        if not self.erp.reserve(order, reserved, poison=fate == "poison"):
            return
        if fate == "stuck_reserved":
            return
        self._fulfil(order, fate, reserved)

    def _fulfil(self, order: Order, fate: str | None, reserved: int) -> None:
        """Release, ship, invoice and settle a reserved web order; then maybe a return."""
        hops, between = self.hops, self.between
        fast = fate in ("refund_late", "refund_never")
        if fate == "release_late":
            released = order.at + between(150 * M, 6 * H)
        elif fast:
            released = reserved + between(20 * M, 40 * M)
        else:
            released = max(reserved + 5 * M, order.at + between(10 * M, 90 * M))
        if released > self.now:
            return
        hops.release(order, released)
        shipped = released + (between(60 * M, 90 * M) if fast else between(1 * H, 8 * H))
        if shipped > self.now:
            return
        hops.ship(order, shipped)
        if fate == "stuck_shipped":
            return
        slow = fate == "invoice_late"
        invoiced = shipped + (between(20 * M, 120 * M) if slow else between(30 * S, 8 * M))
        if not self.erp.invoice(order, invoiced, reject=fate == "schema_reject"):
            return
        if fate in RETURNS:
            # settled before the customer sends it back, so the return is the latest news
            self._settle(order, invoiced + between(20 * M, 90 * M))
            self._return(order, fate, shipped)
        else:
            self._settle(order, invoiced + between(4 * H, 30 * H))

    def _settle(self, order: Order, at: int) -> None:
        if at <= self.now:
            self.hops.settle(order, at)

    def _bopis(self, order: Order, fate: str | None) -> None:
        hops, between = self.hops, self.between
        hops.capture_web(order)
        authorized = hops.authorize(order, order.at + between(3 * S, 15 * S))
        reserved = authorized + between(5 * S, 90 * S)
        if fate == "stuck_authorized" or not self.erp.reserve(order, reserved):
            return
        released = max(reserved + 2 * M, order.at + between(10 * M, 60 * M))
        if released > self.now:
            return
        hops.release(order, released)
        if fate == "pickup_never":
            return
        wait = between(25 * H, 40 * H) if fate == "pickup_late" else between(2 * H, 20 * H)
        picked = self._trading(max(released + 10 * M, order.at + wait))
        if picked > self.now:
            return
        heard = hops.pickup(order, picked)
        invoiced = heard + between(30 * S, 8 * M)
        if self.erp.invoice(order, invoiced):
            self._settle(order, invoiced + between(4 * H, 30 * H))

    def _pos(self, order: Order, fate: str | None) -> None:
        hops, between, store = self.hops, self.between, order.store or ""
        received = self.stock.received(store, order.at)
        captured, server = hops.capture_pos(order, received)
        movements = [self.stock.movement("sale", store, sku, -quantity, order.at, received, "pos",
                                         (order.trace, server), order.order_id)
                     for sku, quantity, _, _ in order.lines]
        if self.ctx.offline(store, order.at):
            self._offline(captured, len(movements), received - order.at)
            self.ctx.events.write_batch([captured, *movements])
        else:
            # a basket's stock movements travel together as one batch
            self.ctx.events.write(captured)
            self.ctx.events.write_batch(movements)
        self.stock.flush()
        if fate == "stuck_captured":
            return
        authorized = hops.authorize(order, received + between(1 * S, 4 * S))
        invoiced = authorized + between(1 * M, 10 * M)
        if not self.erp.invoice(order, invoiced, reject=fate == "schema_reject"):
            return
        if fate == "aged_settle_late":
            self._settle(order, invoiced + 48 * H + between(20 * M, 80 * M))
        elif fate != "aged_unsettled":
            self._settle(order, invoiced + between(6 * H, 30 * H))

    def _offline(self, captured: Made | None, movements: int, lag: int) -> None:
        """Tally what the offline store synced late."""
        if captured is None:
            return
        facts = self.ctx.facts
        facts.offline_events += 1 + movements
        facts.offline_max_lag = max(facts.offline_max_lag, lag)

    def _return(self, order: Order, fate: str, shipped: int) -> None:
        hops = self.hops
        store = self._return_store() if fate == "boris" else None
        order.returned_to = store
        requested, received = self._return_times(fate, store, shipped)
        if requested > self.now:
            return
        hops.return_requested(order, requested, store)
        if received > self.now:
            return
        server, handled = hops.return_received(order, received, store)
        if store is not None:
            sku, quantity = order.lines[0][0], order.lines[0][1]
            self.ctx.events.write(self.stock.movement(
                "return", store, sku, quantity, received, handled + self.between(5_000, 12_000),
                order.channel, (order.trace, server), order.order_id))
            self.stock.flush()
        if fate == "refund_never":
            return
        if fate == "refund_late":
            refunded = received + self.between(26 * H, 32 * H)
        else:
            wait = (5 * M, 2 * H) if store else (1 * H, 12 * H)
            refunded = received + self.between(*wait)
        if refunded <= self.now:
            hops.refund(order, refunded)
            self._settle_refund(order, refunded + self.between(2 * H, 24 * H))

    def _return_times(self, fate: str, store: str | None, shipped: int) -> tuple[int, int]:
        """When the return is requested and when the goods are received."""
        between = self.between
        if fate in ("refund_late", "refund_never"):
            requested = shipped + between(100 * M, 140 * M)
            return requested, requested + between(60 * M, 100 * M)
        if store is not None:
            received = self._trading(shipped + between(4 * H, 12 * H))
            return received - between(1 * M, 3 * M), received
        requested = shipped + between(10 * H, 30 * H)
        return requested, requested + between(4 * H, 16 * H)

    def _trading(self, at: int) -> int:
        """`at` if the stores are open then (08:00-21:00 UTC), else soon after they next open."""
        of_day = at % DAY
        if 8 * H <= of_day < 21 * H:
            return at
        opening = at - of_day + 8 * H + (DAY if of_day >= 21 * H else 0)
        return opening + self.between(5 * M, 3 * H)

    def _settle_refund(self, order: Order, at: int) -> None:
        if at <= self.now:
            self.hops.refund_settled(order, at)

    def _return_store(self) -> str:
        """A store for a BORIS return; not the offline or the silent one, whose stories are their own."""
        store = self.ctx.catalog.store(self.ctx.rng, self.now)
        return self.ctx.catalog.runner_up if store == self.ctx.catalog.offline_store else store
