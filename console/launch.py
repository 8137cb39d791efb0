"""Opening the console from the CLI; the Textual app is imported only here, lazily."""

from __future__ import annotations

from pathlib import Path


def open_console(db: Path) -> int:
    """Open the TUI on `db` in this terminal until the user quits (0) or it hangs up (129)."""
    from console.app import run_console

    return run_console(db)
