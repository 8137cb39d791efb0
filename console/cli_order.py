"""`backroom order KEY`: one order's journey. A module of its own, so that what on-call runs at
3 a.m. imports only what it needs (issue 4: the whole process within 1.5x of a bare query); its
plainest command lines do not reach Typer at all (`console.fast_order`)."""

from __future__ import annotations

from typing import Annotated

import typer

from console import fast_order
from console.options import AtOption, DbOption, JsonOption, UnmaskOption, store_for, unmask


def register(app: typer.Typer) -> None:
    app.command("order")(order)


def order(
    key: Annotated[str, typer.Argument(help="Order id, #name, trace id, message id or email.")],
    at: AtOption = None, db: DbOption = None, as_json: JsonOption = False,
    show_personal: UnmaskOption = False,
) -> None:
    """One order's journey: states, events, spans, dead letters, SLA status."""
    if show_personal:  # never on the fast path: it takes only the plainest command lines
        unmask(store_for(db), f"order {key}")
    fast_order.show(key, at, db, as_json)
