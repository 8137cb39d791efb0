"""Opening the console from the CLI; the Textual app is imported only here, lazily."""

from __future__ import annotations

from pathlib import Path


def open_console(db: Path) -> None:
    """Open the TUI on `db` in this terminal until the user quits."""
    from console.app import run_console

    run_console(db)
