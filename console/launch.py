"""Opening the console from the CLI; the Textual app is imported only here, lazily."""

from __future__ import annotations

from pathlib import Path

import typer


def open_console(db: Path, *, role: str | None = None, screen: str | None = None,
                 search: str | None = None, message: str | None = None) -> None:
    """Open the TUI on `db` in this terminal until the user quits; exit 129 if it hangs up."""
    from console.app import run_console

    code = run_console(db, role=role, screen=screen, search=search, message=message)
    if code:
        raise typer.Exit(code)
