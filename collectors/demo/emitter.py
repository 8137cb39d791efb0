"""The shared span and event plumbing of every hop, with the static attribute fragments cached."""

from __future__ import annotations

from collectors.demo.clock import MS
from collectors.demo.cloudevents import Made, uuid4
from collectors.demo.context import Context, Order
from collectors.demo.otlp import CONSUMER, PRODUCER, SERVER, integer, link_to, new_trace_id, text

ROUTER = "order-router"


class Emitter:
    """Records spans and events for hops, keeping the order's states as its events land."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.now = ctx.now
        self.span = ctx.spans.add
        self._random = ctx.rng.random
        self._messaging: dict[tuple[str, str, str], str] = {}
        self._routes: dict[tuple[str, int], str] = {}
        self._clients: dict[tuple[str, int | None], str] = {}

    def ms(self, low: int, high: int) -> int:
        """A random duration between `low` and `high` milliseconds, in microseconds."""
        return low * MS + int((high - low) * MS * self._random())

    def event(self, order: Order, kind: str, source: str, at: int, recorded: int, trace: str,
              span: str, data: str | None = None) -> Made | None:
        """Make one of the order's events and note the state it reached (None after `now`)."""
        made = self.ctx.events.make(kind, source, order.order_id, at, recorded, trace, span,
                                    order.channel, order.data_json if data is None else data)
        if made is not None:
            state = self.ctx.states.get(kind)
            if state is not None and state not in order.states:
                order.states[state] = at
        return made

    def emit(self, order: Order, kind: str, source: str, at: int, recorded: int, trace: str,
             span: str, data: str | None = None) -> None:
        """Write one of the order's events and note the state it reached (nothing after `now`)."""
        if self.ctx.events.emit(kind, source, order.order_id, at, recorded, trace, span,
                                order.channel, order.data_json if data is None else data):
            state = self.ctx.states.get(kind)
            if state is not None and state not in order.states:
                order.states[state] = at

    def messaging(self, exchange: str, key: str, operation: str, message_id: str,
                  order_id: str | None) -> str:
        """The RabbitMQ semantic-convention attributes of a publish or process span."""
        static = self._messaging.get((exchange, key, operation))
        if static is None:
            static = self._messaging[(exchange, key, operation)] = ",".join((
                text("messaging.system", "rabbitmq"),
                text("messaging.destination.name", exchange),
                text("messaging.rabbitmq.destination.routing_key", key),
                text("messaging.operation.type", operation),
            ))
        order_part = (f',{{"key":"retail.order_id","value":{{"stringValue":"{order_id}"}}}}'
                      if order_id is not None else "")
        message = f'{{"key":"messaging.message.id","value":{{"stringValue":"{message_id}"}}}}'
        return f"{static},{message}{order_part}"

    def served(self, route: str, status: int, order_id: str | None) -> str:
        """The HTTP server attributes of an inbound call."""
        static = self._routes.get((route, status))
        if static is None:
            static = self._routes[(route, status)] = ",".join((
                text("http.request.method", "POST"), text("http.route", route),
                integer("http.response.status_code", status)))
        if order_id is None:
            return static
        return f'{static},{{"key":"retail.order_id","value":{{"stringValue":"{order_id}"}}}}'

    def called(self, url: str, host: str, status: int | None, order_id: str | None,
               *, keep: bool = True) -> str:
        """The HTTP client attributes of an outbound call (no status when it timed out).

        `keep=False` for URLs naming one document, which would only grow the cache.
        """
        static = self._clients.get((url, status))
        if static is None:
            parts = [text("http.request.method", "POST"), text("url.full", url),
                     text("server.address", host)]
            if status is not None:
                parts.append(integer("http.response.status_code", status))
            static = ",".join(parts)
            if keep:
                self._clients[(url, status)] = static
        if order_id is None:
            return static
        return f'{static},{{"key":"retail.order_id","value":{{"stringValue":"{order_id}"}}}}'

    def inbound(self, order: Order, service: str, route: str, exchange: str, key: str,
                received: int, *, new_trace: bool, detail: str = "") -> tuple[str, str, int]:
        """A source calls `service`, which publishes to RabbitMQ for the order router to process.

        `detail` adds attribute fragments to the server span. Returns the trace, the server
        span (the event's context) and when the router recorded it.
        """
        if new_trace:
            trace, parent = new_trace_id(self.rng), None
            links = link_to(*order.root) if order.root[0] else ""
        else:
            trace, parent, links = order.trace, order.parent, ""
        oid = order.order_id
        rnd = self._random  # inlined draws: this hop runs for nearly every event
        server = self.span(service, trace, parent, f"POST {route}", SERVER, received,
                           received + 15_000 + int(105_000 * rnd()),
                           self.served(route, 202, oid) + detail,
                           remote=parent is not None, extra=links)
        published = received + 5_000 + int(7_000 * rnd())
        message_id = uuid4(self.rng)
        producer = self.span(service, trace, server, f"{exchange} publish", PRODUCER, published,
                             published + 1_000 + int(4_000 * rnd()),
                             self.messaging(exchange, key, "publish", message_id, oid))
        processed = published + 6_000 + int(39_000 * rnd())
        order.trace = trace
        order.parent = self.span(ROUTER, trace, producer, f"router.{exchange} process", CONSUMER,
                                 processed, processed + 4_000 + int(26_000 * rnd()),
                                 self.messaging(exchange, key, "process", message_id, oid),
                                 remote=True)
        return trace, server, processed
