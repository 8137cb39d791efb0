"""Options the commands share (`--db`, `--json`, `--at`, `--unmask`) and the store they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from queries import Store
from queries.errors import BackroomError

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="The DuckDB store (default $BACKROOM_DB or ./backroom.duckdb).",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Stable JSON on stdout, for scripts.")]
AtOption = Annotated[str | None, typer.Option(
    "--at", help="Evaluate as of this instant (ISO 8601; events recorded later are ignored).")]
UnmaskOption = Annotated[bool, typer.Option(
    "--unmask", help="Show emails and phone numbers (cards stay masked); leaves an audit row. "
    "Refused when the policy's console.role is support.")]


class UnmaskRefused(BackroomError):
    """The support role asked to see personal data (exit 2)."""


def store_for(db: Path | None) -> Store:
    """The store named by a command's --db, else the global --db / $BACKROOM_DB / default."""
    return Store.at(db)


def unmask(store: Store, where: str) -> None:
    """Show personal data in this command's output, audited (RELIABILITY.md P3), if the role may."""
    from console import output
    from queries import audit, policy

    if policy.load().console.role == "support":
        raise UnmaskRefused("the support role does not see personal data unmasked (policy console.role)")
    with store.writing() as cursor:
        audit.record(cursor, "unmask", [], where, dry_run=False, outcome="personal data shown")
    output.show_personal_data()
