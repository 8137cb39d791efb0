"""An order's hops outside the ERP: what each service records, what each system emits."""

from __future__ import annotations

from collectors.demo.clock import MINUTE
from collectors.demo.cloudevents import Made, uuid4
from collectors.demo.context import PSP, SHOP, WMS, Order, store_source
from collectors.demo.context import ROUTER as ROUTER_SOURCE
from collectors.demo.emitter import ROUTER, Emitter
from collectors.demo.otlp import (
    CLIENT,
    CONSUMER,
    PRODUCER,
    SERVER,
    double,
    flag,
    link_to,
    new_trace_id,
)

SHOP_HOST = "acme.myshopify.com"
WMS_HOST = "wms.example"
POS_HOST = "pos.example"


class Hops(Emitter):
    """Inbound and outbound calls that move an order from one state to the next."""

    def capture_web(self, order: Order) -> None:
        """The storefront's order webhook reaches the middleware."""
        received = order.at + self.ms(200, 1500)
        trace, server, recorded = self.inbound(order, "storefront-webhooks",
                                               "/webhooks/orders/create", "orders",
                                               "order.captured", received, new_trace=True,
                                               detail=self._amount(order))
        order.root = (trace, server)
        self.emit(order, "order.captured", SHOP, order.at, recorded, trace, server)

    @staticmethod
    def _amount(order: Order) -> str:
        return "," + double("retail.order.amount", order.cents / 100)

    def capture_pos(self, order: Order, received: int) -> tuple[Made | None, str]:
        """The store's POS posts a sale; returns the event (the caller batches it) and its span."""
        # a sale the till journaled while offline reaches the middleware much later
        offline = "," + flag("retail.pos.offline_sync", received - order.at > MINUTE)
        trace, server, recorded = self.inbound(order, "pos-sync", "/pos/v1/sales", "orders",
                                               "order.captured", received, new_trace=True,
                                               detail=self._amount(order) + offline)
        order.root = (trace, server)
        made = self.event(order, "order.captured", store_source(order.store or ""), order.at,
                          recorded, trace, server)
        return made, server

    def authorize(self, order: Order, at: int) -> int:
        """The payment gateway has the PSP authorise the payment; returns when the PSP answered."""
        start = at - self.ms(250, 600)
        server = self.span("payment-gateway", order.trace, order.parent, "POST /v1/authorizations",
                           SERVER, start, at + self.ms(2, 10),
                           self.served("/v1/authorizations", 201, order.order_id), remote=True)
        self.emit(order, "payment.authorized", PSP, at,
                  at + self.ms(10, 200), order.trace, server)
        return at

    def release(self, order: Order, at: int) -> None:
        """The router releases the order for fulfilment: to the DC's WMS, or to the pickup store."""
        trace, message_id, oid = new_trace_id(self.rng), uuid4(self.rng), order.order_id
        if order.channel == "bopis":
            service, key, queue = "pos-sync", "release.store", "pos.pick-tasks"
            host, url = POS_HOST, f"https://{POS_HOST}/api/stores/{order.store}/pick-tasks"
        else:
            service, key, queue = "wms-adapter", "release.dc1", "wms.releases"
            host, url = WMS_HOST, f"https://{WMS_HOST}/api/v2/waves"
        # a release job, not a request, starts this trace: it links back to the capture
        producer = self.span(ROUTER, trace, None, "fulfillment publish", PRODUCER, at,
                             at + self.ms(1, 4),
                             self.messaging("fulfillment", key, "publish", message_id, oid),
                             extra=link_to(*order.root))
        consumed = at + self.ms(5, 40)
        consumer = self.span(service, trace, producer, f"{queue} process", CONSUMER, consumed,
                             consumed + self.ms(300, 900),
                             self.messaging("fulfillment", key, "process", message_id, oid),
                             remote=True)
        self.span(service, trace, consumer, "POST", CLIENT, consumed + self.ms(2, 6),
                  consumed + self.ms(200, 280), self.called(url, host, 201, oid))
        order.trace, order.parent = trace, consumer
        self.emit(order, "fulfillment.released", ROUTER_SOURCE, at, at + self.ms(2, 20), trace,
                  producer)

    def notified(self, order: Order, service: str, route: str, exchange: str, kind: str,
                 source: str, at: int, *, new_trace: bool = True,
                 data: str | None = None, received: int | None = None) -> tuple[str, int]:
        """A source reports `kind` to `service` (by default seconds later), which hands it on.

        Returns the server span and when the call arrived.
        """
        if received is None:
            received = at + self.ms(300, 4000)
        trace, server, recorded = self.inbound(order, service, route, exchange, kind, received,
                                               new_trace=new_trace)
        self.emit(order, kind, source, at, recorded, trace, server, data)
        return server, received

    def ship(self, order: Order, at: int) -> None:
        """The DC's WMS confirms the shipment."""
        self.notified(order, "wms-adapter", "/wms/v1/shipments", "orders", "shipment.confirmed",
                      WMS, at)

    def pickup(self, order: Order, at: int) -> int:
        """The customer collects the order; returns when the middleware heard (late if offline)."""
        received = None
        if self.ctx.offline(order.store, at):
            received = self.ctx.windows.synced_at(at)
            self.ctx.facts.offline_events += received <= self.now
        return self.notified(order, "pos-sync", "/pos/v1/pickups", "orders", "order.picked_up",
                             store_source(order.store or ""), at, received=received)[1]

    def settle(self, order: Order, at: int) -> None:
        """The PSP reports the settlement of the order's payment."""
        self.notified(order, "payment-gateway", "/v1/webhooks/settlements", "orders",
                      "settlement.completed", PSP, at)

    def return_requested(self, order: Order, at: int, store: str | None) -> None:
        """A return is opened: online by the customer, or at a store's till (BORIS)."""
        if store is None:
            self.notified(order, "storefront-webhooks", "/webhooks/returns/request", "returns",
                          "return.requested", SHOP, at)
        else:
            self.notified(order, "pos-sync", "/pos/v1/returns", "returns", "return.requested",
                          store_source(store), at, data=order.at_store(store))

    def return_received(self, order: Order, at: int, store: str | None) -> tuple[str, int]:
        """The goods come back: at the DC, or over a store's counter (in the request's session)."""
        if store is None:
            return self.notified(order, "wms-adapter", "/wms/v1/returns/received", "returns",
                                 "return.received", WMS, at)
        return self.notified(order, "pos-sync", "/pos/v1/returns/received", "returns",
                             "return.received", store_source(store), at, new_trace=False,
                             data=order.at_store(store))

    def refund(self, order: Order, at: int) -> None:
        """The router has the storefront issue the refund."""
        start = at - self.ms(300, 900)
        shopify_id = order.seq + 5_520_000_000_000
        url = f"https://{SHOP_HOST}/admin/api/2025-01/orders/{shopify_id}/refunds.json"
        client = self.span(ROUTER, order.trace, order.parent, "POST", CLIENT, start, at,
                           self.called(url, SHOP_HOST, 201, order.order_id, keep=False))
        self.emit(order, "refund.issued", SHOP, at, at + self.ms(20, 300),
                  order.trace, client)

    def refund_settled(self, order: Order, at: int) -> None:
        """The PSP reports the refund as paid out."""
        self.notified(order, "payment-gateway", "/v1/webhooks/refunds", "orders", "refund.settled",
                      PSP, at)
