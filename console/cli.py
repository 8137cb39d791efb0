"""The `backroom` entry point: a plain `order` runs without Typer (`console.fast_order`); every
other command line goes to the Typer app in `console.cli_root` (DESIGN.md, CLI contract)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

GLOBAL_OPTIONS = frozenset({"--db", "--config"})  # the options before the command; each takes a value


def apply_global_options(db: str | Path | None, config: str | Path | None) -> None:
    """What the global options mean to every command after them (Typer's or the fast path's)."""
    if db is not None:
        os.environ["BACKROOM_DB"] = str(db)
    if config is not None:
        os.environ["BACKROOM_CONFIG"] = str(config)


def main() -> None:
    """Run the command line, turning every failure into one line on stderr and an exit code."""
    argv = sys.argv[1:]
    from console import fast_order
    from console.errors import flushed

    code = fast_order.run(argv)
    if code is None:
        from console import cli_root

        code = cli_root.run(argv)
    sys.exit(flushed(code))


def __getattr__(name: str) -> Any:
    """`console.cli.app`, `register`, `modules_for`…: the Typer app's, imported when first asked for.
    Not for dunder names: `from console.cli import x` asks for `__path__`, and must not load Typer."""
    if name.startswith("__"):
        raise AttributeError(name)
    from console import cli_root

    return getattr(cli_root, name)


if __name__ == "__main__":
    main()
