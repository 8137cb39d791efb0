"""Options the commands share (`--db`, `--json`, `--at`) and the store they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from queries import Store

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="The DuckDB store (default $BACKROOM_DB or ./backroom.duckdb).",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Stable JSON on stdout, for scripts.")]
AtOption = Annotated[str | None, typer.Option(
    "--at", help="Evaluate as of this instant (ISO 8601; events recorded later are ignored).")]


def store_for(db: Path | None) -> Store:
    """The store named by a command's --db, else the global --db / $BACKROOM_DB / default."""
    return Store.at(db)
