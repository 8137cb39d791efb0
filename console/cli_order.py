"""`backroom order KEY`: one order's journey. A module of its own, so that what on-call runs at
3 a.m. imports only what it needs (issue 4: the whole process within 1.5x of a bare query)."""

from __future__ import annotations

from typing import Annotated

import typer

from console import output, render_journey
from console.options import AtOption, DbOption, JsonOption, UnknownKey, store_for
from console.timeargs import at_or_now
from queries import journey, policy


def register(app: typer.Typer) -> None:
    app.command("order")(order)


def order(
    key: Annotated[str, typer.Argument(help="Order id, #name, trace id, message id or email.")],
    at: AtOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """One order's journey: states, events, spans, dead letters, SLA status."""
    when, rules = at_or_now(at), policy.load()
    with store_for(db).reading() as cursor:
        detail = journey.find(cursor, rules, key, when)
    if detail is None:
        raise UnknownKey(f"no order matches {key!r}")
    if as_json:
        output.emit_json(detail)
    else:
        render_journey.print_journey(detail)
