"""RabbitMQ dead letters, written as the management API's `POST /api/queues/%2F/<q>/get` answer."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from collectors.demo.clock import US
from collectors.demo.writers import FileStat, SortedSpool

DLX = "erp.dlx"
ORDERS_DLQ = "erp.orders.dlq"
INVOICES_DLQ = "erp.invoices.dlq"
QUEUES = (ORDERS_DLQ, INVOICES_DLQ)
TIMEOUT_CLASS = "java.util.concurrent.TimeoutException"
REJECT_CLASS = "org.springframework.amqp.AmqpRejectAndDontRequeueException"
CONVERSION_CLASS = "org.springframework.amqp.support.converter.MessageConversionException"
CONVERSION_MESSAGE = ("Failed to convert Message content: Illegal character "
                      "((CTRL-CHAR, code 31)): only regular white space (\\r, \\n, \\t) is "
                      "allowed between tokens")


@dataclass(frozen=True)
class Death:
    """How one message died: where it had been sent, from which queue, why, how often, when."""

    exchange: str
    queue: str
    routing_key: str
    reason: str
    count: int
    first_at: int
    last_at: int
    exception: tuple[str, str] | None = None


def dead_letter(death: Death, *, message_id: str, published_at: int, order_id: str,
                traceparent: str, body: bytes, content_type: str = "application/json",
                redelivered: bool = False) -> dict[str, Any]:
    """One message as the management API returns it (message_count is filled in on writing)."""
    headers: dict[str, Any] = {"traceparent": traceparent, "x-order-id": order_id}
    if death.exception is not None:
        headers["x-exception-class"] = death.exception[0]
        headers["x-exception-message"] = death.exception[1]
    headers["x-death"] = [{
        "count": death.count, "exchange": death.exchange, "queue": death.queue,
        "reason": death.reason, "routing-keys": [death.routing_key], "time": death.first_at // US,
    }]
    headers["x-first-death-exchange"] = death.exchange
    headers["x-first-death-queue"] = death.queue
    headers["x-first-death-reason"] = death.reason
    try:
        payload, encoding = body.decode("utf-8"), "string"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(body).decode("ascii"), "base64"
    return {
        "payload_bytes": len(body), "redelivered": redelivered, "exchange": DLX,
        "routing_key": death.routing_key, "message_count": 0,
        "properties": {"message_id": message_id, "content_type": content_type, "delivery_mode": 2,
                       "timestamp": published_at // US, "headers": headers},
        "payload": payload, "payload_encoding": encoding,
    }


class DeadLetters:
    """Spools dead letters per queue and writes each queue's dump in dead-lettering order."""

    def __init__(self, spool_dir: Path) -> None:
        self._spools = {queue: SortedSpool(spool_dir / f"{queue}.jsonl") for queue in QUEUES}
        self.by_reason: dict[str, int] = {}

    @property
    def total(self) -> int:
        """Dead letters so far."""
        return sum(spool.count for spool in self._spools.values())

    def add(self, queue: str, death: Death, message: dict[str, Any]) -> None:
        """Queue one dead letter; it entered the DLQ at `death.last_at`."""
        self._spools[queue].add_keyed(death.last_at, message)
        self.by_reason[death.reason] = self.by_reason.get(death.reason, 0) + 1

    def counts(self) -> dict[str, int]:
        """Messages per queue."""
        return {queue: spool.count for queue, spool in self._spools.items()}

    def write(self, folder: Path) -> list[FileStat]:
        """Write `folder/<queue>.json` for every queue and remove the spools."""
        folder.mkdir(parents=True, exist_ok=True)
        stats = []
        for queue, spool in self._spools.items():
            path = folder / f"{queue}.json"
            left = spool.count
            with path.open("wb") as handle:
                handle.write(b"[")
                for position, line in enumerate(spool.lines()):
                    message = orjson.loads(line)
                    left -= 1
                    # a get of the whole queue: each answer says how many remain after it
                    message["message_count"] = left
                    handle.write(b"\n" if position == 0 else b",\n")
                    handle.write(orjson.dumps(message))
                handle.write(b"\n]\n" if spool.count else b"]\n")
            spool.discard()
            stats.append(FileStat(path, lines=spool.count, items=spool.count,
                                  size=path.stat().st_size))
        return stats
