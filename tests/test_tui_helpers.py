"""Shared by the console tests: the seeded demo estate (built once), hostile data, waiting on messages."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from textual.message import Message

from console.screenshots import build_estate
from queries import Store
from queries.ingest import Table
from tests.estate import add_rows, dead_letter

_built: dict[str, Path] = {}

ESCAPES = {"title": "\x1b]0;pwned\x07", "clear": "\x1b[2J", "clipboard": "\x1b]52;c;cHduZWQ=\x07"}
HOSTILE_TEXT = (f"note {ESCAPES['title']} then {ESCAPES['clear']} then {ESCAPES['clipboard']} "
                "[@click=app.quit]click me[/] and [bold red]loud[/]")
CARD = "4111 1111 1111 1111"


def shared_estate(factory: pytest.TempPathFactory) -> Path:
    """The demo estate (600 orders, seed 7, time frozen), built once per test session; do not write to it."""
    if "db" not in _built:
        _built["db"] = build_estate(factory.mktemp("tui-estate"))
    return _built["db"]


# The demo's dead letters a test needs, by what they are: ids change whenever the generator does.
DEMO_DEAD_LETTERS = {
    # an invoice line without a tax code, of a walk-in sale: no personal data in the body
    "schema": "error_text LIKE 'Schema validation failed%' AND json_extract_string(try(decode(body)), "
              "'$.customer_email') IS NULL",
    # a JSON body that names the customer's email
    "personal": "json_extract_string(try(decode(body)), '$.customer_email') IS NOT NULL",
    # the gzip body a JSON consumer choked on until the delivery limit
    "poison": "reason = 'delivery_limit'",
}


def demo_dead_letter(factory: pytest.TempPathFactory, what: str) -> str:
    """The id of a dead letter of the shared estate that is `what` (a key of DEMO_DEAD_LETTERS)."""
    with Store.at(shared_estate(factory)).reading() as cursor:
        row = cursor.execute(f"SELECT id FROM dlq_messages WHERE {DEMO_DEAD_LETTERS[what]} ORDER BY id "
                             "LIMIT 1").fetchone()
    assert row is not None, f"the demo estate has no {what} dead letter"
    return str(row[0])


def private_copy(factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of the shared estate that a test may write to."""
    source = shared_estate(factory)
    target = factory.mktemp(name) / "backroom.duckdb"
    shutil.copy(source, target)
    return target


def add_hostile_dead_letter(db: Path, dlq_id: str = "hostile-1", order_id: str = "ORD-EVIL") -> None:
    """A dead letter whose body, headers, queue and error carry terminal escapes, markup and a card number."""
    headers = {"x-note": HOSTILE_TEXT, "x-exception-message": f"boom {ESCAPES['clear']}",
               "x-card": CARD, "x-order-id": order_id}
    store = Store.at(db)
    with store.writing():
        pass
    add_rows(store, Table.DLQ_MESSAGES, [dead_letter(
        dlq_id, f"erp.orders.dlq{ESCAPES['title']}", order_id, body=f"not json: {HOSTILE_TEXT} {CARD}".encode(),
        headers=orjson.dumps(headers).decode(), error_text=f"failed {ESCAPES['clipboard']} [@click=app.quit]",
        fingerprint="hostilegroup0001", message_id="hostile-message-1", content_type="text/plain")])


class MessageLog:
    """A Textual message hook that lets a test wait for a message instead of sleeping."""

    def __init__(self) -> None:
        self.seen: list[Message] = []
        self._arrived = asyncio.Event()

    def __call__(self, message: Message) -> None:
        self.seen.append(message)
        self._arrived.set()

    def mark(self) -> int:
        return len(self.seen)

    async def wait_for(self, kind: type[Message], where: Callable[[Any], bool] = lambda _: True,
                       after: int = 0, timeout: float = 20.0) -> Any:
        """The first message of `kind` (after index `after`) that satisfies `where`."""
        async def scan() -> Any:
            checked = after
            while True:
                for message in self.seen[checked:]:
                    if isinstance(message, kind) and where(message):
                        return message
                checked = len(self.seen)
                self._arrived.clear()
                await self._arrived.wait()
        return await asyncio.wait_for(scan(), timeout)
