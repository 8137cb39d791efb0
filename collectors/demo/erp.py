"""ERP calls through RabbitMQ: reservations and invoices, their failures and dead letters."""

from __future__ import annotations

import gzip
from typing import Any

import orjson

from collectors.demo.clock import HOUR, MINUTE, SECOND
from collectors.demo.cloudevents import uuid4
from collectors.demo.context import ERP, Context, Order
from collectors.demo.deadletters import (
    CONVERSION_CLASS,
    CONVERSION_MESSAGE,
    INVOICES_DLQ,
    ORDERS_DLQ,
    REJECT_CLASS,
    TIMEOUT_CLASS,
    Death,
    dead_letter,
)
from collectors.demo.emitter import ROUTER, Emitter
from collectors.demo.otlp import CLIENT, CONSUMER, PRODUCER, error_status, exception_event, text

ADAPTER = "erp-adapter"
ERP_HOST = "erp.example"
QUEUE_TTL = 30 * MINUTE
# (routing key, work queue, dead-letter queue, API collection, document prefix, event type)
RESERVE = ("order.reserve", "erp.orders", ORDERS_DLQ, "salesorders", "SO", "inventory.reserved")
INVOICE = ("invoice.post", "erp.invoices", INVOICES_DLQ, "salesinvoices", "SI", "invoice.posted")


class ErpCalls(Emitter):
    """The router publishes work for the ERP adapter, which calls the ERP's API."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        # the successful call's attributes up to the order id, which closes the fragment
        self._called = {
            call[0]: self.called(f"https://{ERP_HOST}/api/{call[3]}", ERP_HOST, 201, None)
            + ',{"key":"retail.order_id","value":{"stringValue":"'
            for call in (RESERVE, INVOICE)
        }

    def reserve(self, order: Order, at: int, poison: bool = False) -> bool:
        """Create the sales order (reserving stock); False when it dead-lettered instead."""
        return self._call(order, RESERVE, at, "poison" if poison else None)

    def invoice(self, order: Order, at: int, reject: bool = False) -> bool:
        """Post the invoice; False when it dead-lettered instead."""
        return self._call(order, INVOICE, at, "schema" if reject else None)

    def _call(self, order: Order, call: tuple[str, ...], at: int, failure: str | None) -> bool:
        rnd = self._random  # inlined draws: two ERP calls run for most orders
        published = at - 400_000 - int(500_000 * rnd())
        if published > self.now:
            return False
        key, queue, _, _, _, kind = call
        windows = self.ctx.windows
        if windows.in_outage(published):
            expired = (key == INVOICE[0] and published - windows.outage_start > 10 * MINUTE
                       and self.rng.random() < 0.5)
            failure = "expired" if expired else "timeout"
        message_id = uuid4(self.rng)
        producer = self.span(ROUTER, order.trace, order.parent, "erp publish", PRODUCER, published,
                             published + 1_000 + int(3_000 * rnd()),
                             self.messaging("erp", key, "publish", message_id, order.order_id))
        if failure is not None:
            self._fail(order, call, failure, published, message_id, producer)
            return False
        consumed = published + 5_000 + int(35_000 * rnd())
        answered = consumed + 150_000 + int(300_000 * rnd())
        recorded = answered + 5_000 + int(25_000 * rnd())
        consumer = self.span(ADAPTER, order.trace, producer, f"{queue} process", CONSUMER,
                             consumed, recorded + 2000,
                             self.messaging("erp", key, "process", message_id, order.order_id),
                             remote=True)
        client = self.span(ADAPTER, order.trace, consumer, "POST", CLIENT, consumed + 2000,
                           answered, self._called[key] + order.order_id + '"}}')
        self.emit(order, kind, ERP, answered, recorded, order.trace, client)
        return True

    def _url(self, order: Order, call: tuple[str, ...], with_number: bool) -> str:
        base = f"https://{ERP_HOST}/api/{call[3]}"
        return f"{base}/{self._number(order, call)}" if with_number else base

    @staticmethod
    def _number(order: Order, call: tuple[str, ...]) -> str:
        number = 40_000 + order.seq * 7 % 59_999 if call[4] == "SO" else 70_000 + order.seq
        return f"{call[4]}-{number}"

    def _fail(self, order: Order, call: tuple[str, ...], failure: str, published: int,
              message_id: str, producer: str) -> None:
        key, queue, dlq = call[0], call[1], call[2]
        consumed = published + self.ms(5, 40)
        if failure == "expired":
            # the adapter was stuck on timeouts, so this message waited out the queue's TTL
            died, exception = published + QUEUE_TTL, None
        elif failure == "timeout":
            died, exception = self._timeouts(order, call, consumed, message_id, producer)
        else:
            exception = ((CONVERSION_CLASS, CONVERSION_MESSAGE) if failure == "poison"
                         else (REJECT_CLASS, self._schema_message(order)))
            died = consumed + self.ms(3, 15)
            self._failed_consumer(order, call, consumed, died, message_id, producer, exception)
        if died > self.now:
            return  # still being retried (or waiting in the queue) at `now`
        count, last = self._deaths(failure, died)
        death = Death("erp", queue, key, _REASONS[failure], count, died, last, exception)
        body = self._body(order, call, message_id, published, failure)
        message = dead_letter(death, message_id=message_id, published_at=published,
                              order_id=order.order_id, body=body,
                              traceparent=f"00-{order.trace}-{producer}-01",
                              redelivered=failure == "poison")
        self.ctx.dead.add(dlq, death, message)
        self._remember(order, dlq, message_id, failure, died)

    def _timeouts(self, order: Order, call: tuple[str, ...], consumed: int, message_id: str,
                  producer: str) -> tuple[int, tuple[str, str]]:
        """Three attempts of 30 s each, then the listener gives up and rejects."""
        url = self._url(order, call, True)
        message = f"Timeout after 30000 ms calling POST {url}"
        gave_up = consumed + 93 * SECOND
        consumer = self.span(ADAPTER, order.trace, producer, f"{call[1]} process", CONSUMER,
                             consumed, gave_up,
                             self.messaging("erp", call[0], "process", message_id, order.order_id),
                             remote=True, status=error_status(message),
                             extra=exception_event(gave_up, TIMEOUT_CLASS, message))
        attempt = consumed + 2000
        attributes = ",".join((self.called(url, ERP_HOST, None, order.order_id, keep=False),
                               text("error.type", TIMEOUT_CLASS)))
        for _ in range(3):
            self.span(ADAPTER, order.trace, consumer, "POST", CLIENT, attempt,
                      attempt + 30 * SECOND, attributes, status=error_status(message))
            attempt += 31 * SECOND
        return gave_up, (TIMEOUT_CLASS, message)

    def _failed_consumer(self, order: Order, call: tuple[str, ...], consumed: int, died: int,
                         message_id: str, producer: str, exception: tuple[str, str]) -> None:
        self.span(ADAPTER, order.trace, producer, f"{call[1]} process", CONSUMER, consumed, died,
                  self.messaging("erp", call[0], "process", message_id, order.order_id),
                  remote=True, status=error_status(exception[1]),
                  extra=exception_event(died, exception[0], exception[1]))

    def _deaths(self, failure: str, died: int) -> tuple[int, int]:
        """How often the message died and when last: the poison was replayed and died again."""
        if failure == "poison":
            return 7, min(self.now, died + 5 * HOUR + self.ms(0, 3_600_000))
        if failure == "timeout" and self.rng.random() < 0.1:
            return 2, min(self.now, died + self.ms(60_000, 600_000))
        return 1, died

    def _schema_message(self, order: Order) -> str:
        return f"Schema validation failed: $.lines[{len(order.lines) - 1}].tax_code is required"

    def _body(self, order: Order, call: tuple[str, ...], message_id: str, published: int,
              failure: str) -> bytes:
        lines: list[dict[str, Any]] = [
            {"sku": sku, "quantity": quantity, "unit_price": cents / 100, "tax_code": tax}
            for sku, quantity, cents, tax in order.lines
        ]
        if failure == "schema":
            del lines[-1]["tax_code"]
        number_key = "sales_order_number" if call[4] == "SO" else "invoice_number"
        document = {
            "message_id": message_id, number_key: self._number(order, call),
            "order_id": order.order_id, "order_name": order.name, "channel": order.channel,
            "customer_email": order.email, "store_id": order.store, "lines": lines,
            "amount": order.cents / 100, "currency": order.data["currency"],
            "requested_at": self.ctx.events.rfc3339(published),
        }
        body = orjson.dumps(document)
        # the poison: a producer gzipped the JSON but still labelled it application/json
        return gzip.compress(body, mtime=0) if failure == "poison" else body

    def _remember(self, order: Order, dlq: str, message_id: str, failure: str, died: int) -> None:
        facts = self.ctx.facts
        facts.tally(facts.dlq_kinds, _KINDS[failure])
        order.stopped = failure
        if failure == "poison":
            facts.poison = {"message_id": message_id, "order_id": order.order_id, "queue": dlq}
        elif failure in ("timeout", "expired"):
            facts.outage_orders.add({"order_id": order.order_id, "order_name": order.name,
                                     "channel": order.channel, "queue": dlq,
                                     "message_id": message_id, "reason": _REASONS[failure],
                                     "dead_lettered_at": self.ctx.events.rfc3339(died)})


_REASONS = {"timeout": "rejected", "schema": "rejected", "expired": "expired",
            "poison": "delivery_limit"}
_KINDS = {"timeout": "timeouts", "schema": "schema_rejections", "expired": "expired",
          "poison": "poison"}
