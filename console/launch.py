"""Opening the console from the CLI; the Textual app is imported only here, lazily."""

from __future__ import annotations

from pathlib import Path

from console import output


def open_console(db: Path) -> None:
    """Open the TUI on `db`; until the console lands, say so and show where to go next."""
    try:
        from console.app import run_console  # type: ignore[import-not-found]
    except ImportError:
        output.note(
            "backroom: the console is not in this build yet (issue #5); the store is ready: "
            f"try 'backroom --db {db} ingest --help' or 'backroom --help'"
        )
        return
    run_console(db)
