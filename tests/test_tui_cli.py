"""`backroom tui` as the CLI offers it: its options, lazy Textual, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def backroom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console.cli", *args], check=False, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "120"})


def test_tui_is_built_and_documents_its_deep_links() -> None:
    result = backroom("tui", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--screen", "--search", "--message", "--role", "--db"):
        assert option in result.stdout
    assert "not built yet" not in result.stdout


def test_the_cli_does_not_import_textual() -> None:
    probe = "import sys, console.cli; console.cli.register(); print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_order_imports_only_what_it_needs() -> None:
    probe = ("import sys, console.cli as cli; cli.register(cli.modules_for(sys.argv[1:])); "
             "print(' '.join(sorted(m for m in sys.modules if m.startswith(('console.cli_', 'asyncio'))"
             " and m != 'console.cli_root')))")  # the Typer app itself
    result = subprocess.run([sys.executable, "-c", probe, "--db", "x.duckdb", "order", "--json", "#1042"],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["console.cli_order"], result.stderr


def test_an_unknown_screen_or_role_is_a_usage_error(tmp_path: Path) -> None:
    for args in (["tui", "--screen", "kitchen"], ["tui", "--role", "admin"]):
        result = backroom("--db", str(tmp_path / "x.duckdb"), *args)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("backroom: ")


def test_commands_parse_to_one_line_reasons() -> None:
    from console.screens.commands import parse

    command, argument = parse(":order  #1042 ")  # type: ignore[misc]
    assert (command.words[0], argument) == ("order", "#1042")
    assert parse("order") == ":order KEY needs KEY"
    assert "unknown command :\u241b[2J" in str(parse("\x1b[2J"))
    assert parse("dlq")[1] == ""  # type: ignore[index]
