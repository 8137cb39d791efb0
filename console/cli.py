"""The `backroom` entry point: a plain `order` runs without Typer (`console.fast_order`); every
other command line goes to the Typer app in `console.cli_root` (DESIGN.md, CLI contract)."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    """Run the command line, turning every failure into one line on stderr and an exit code."""
    argv = sys.argv[1:]
    from console import fast_order

    code = fast_order.run(argv)
    if code is None:
        from console import cli_root

        code = cli_root.run(argv)
    sys.exit(code)


def __getattr__(name: str) -> Any:
    """`console.cli.app`, `register`, `modules_for`…: the Typer app's, imported when first asked for."""
    from console import cli_root

    return getattr(cli_root, name)


if __name__ == "__main__":
    main()
