"""`backroom tui`: open the console, maybe on a screen, an order's journey or a dead letter."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from console.options import DbOption, store_for


class ScreenName(enum.StrEnum):
    OVERVIEW = "overview"
    ORDERS = "orders"
    SLA = "sla"
    INVENTORY = "inventory"
    DLQ = "dlq"
    AUDIT = "audit"
    REJECTS = "rejects"


class Role(enum.StrEnum):
    ONCALL = "oncall"
    SUPPORT = "support"


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)


def tui(
    screen: Annotated[ScreenName | None, typer.Option(help="The screen to open on.")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", help="Open the journey of the order this key names (id, #name, email, trace id).")] = None,
    message: Annotated[str | None, typer.Option(
        "--message", help="Open this dead letter (id or message id).")] = None,
    role: Annotated[Role | None, typer.Option(
        help="oncall sees actions; support sees masked personal data and no actions "
             "(default: the policy's console.role).")] = None,
    db: DbOption = None,
) -> None:
    """The console: overview, orders, SLA, inventory, dead letters, audit, rejects."""
    from console.launch import open_console  # Textual loads only when the console opens

    store = store_for(db)
    open_console(store.path, role=role.value if role else None,
                 screen=screen.value if screen else None, search=search, message=message)
