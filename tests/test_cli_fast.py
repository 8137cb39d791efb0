"""`backroom order` without Typer: the same stdout, stderr and exit code as the Typer command, for
every plain command line; anything else goes to Typer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.fast_order import OrderLine, parse
from tests.test_tui_helpers import shared_estate

AT = "2026-03-02T12:00:00Z"
THROUGH_TYPER = "import sys; from console import cli_root; sys.exit(cli_root.run(sys.argv[1:]))"


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_estate(tmp_path_factory)


def run(command: list[str], args: list[str]) -> tuple[int, str, str]:
    result = subprocess.run([*command, *args], check=False, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "120"})
    return result.returncode, result.stdout, result.stderr


def both(args: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    return (run([sys.executable, "-m", "console.cli"], args),
            run([sys.executable, "-c", THROUGH_TYPER], args))


@pytest.mark.parametrize("shape", ["global db, json", "options first, = forms", "text", "unknown key",
                                   "bad --at", "no such store"])
def test_the_fast_path_answers_as_typer_does(estate: Path, shape: str) -> None:
    db = str(estate)
    args = {
        "global db, json": ["--db", db, "order", "#1129", "--json", "--at", AT],
        "options first, = forms": ["order", "--json", f"--db={db}", f"--at={AT}", "ORD-00000256"],
        "text": ["order", "#1129", "--db", db, "--at", AT],
        "unknown key": ["order", "ORD-NOPE", "--db", db],
        "bad --at": ["order", "#1129", "--db", db, "--at", "yesterday"],
        "no such store": ["order", "#1129", "--db", str(estate.parent / "missing" / "x.duckdb")],
    }[shape]
    fast, typer = both(args)
    assert fast == typer
    code, out, err = fast
    expected = {"unknown key": 1, "bad --at": 2, "no such store": 2}.get(shape, 0)
    assert code == expected, err
    assert (out != "") == (expected == 0) and (err != "") == (expected != 0)
    if expected:
        assert err.startswith("backroom: ") and err.count("\n") == 1  # one line, no traceback


def test_the_fast_path_does_not_import_typer(estate: Path) -> None:
    # as the installed `backroom` script imports it
    probe = ("import sys\nfrom console.cli import main\ntry:\n    main()\nexcept SystemExit as done:\n"
             "    print(done.code, 'typer' in sys.modules, file=sys.stderr)")
    _code, out, err = run([sys.executable, "-c", probe], ["--db", str(estate), "order", "#1129", "--json"])
    assert err.split() == ["0", "False"] and '"order_name": "#1129"' in out


@pytest.mark.parametrize("argv, parsed", [
    (["order", "K"], OrderLine(key="K")),
    (["--db", "a.db", "--config", "p.toml", "order", "--at", "now", "K", "--db=b.db", "--json"],
     OrderLine(key="K", at="now", db="b.db", global_db="a.db", config="p.toml", as_json=True)),
    (["order", "order"], OrderLine(key="order")),
    (["order"], None),  # no key: Typer says so
    (["order", "K", "L"], None),  # two keys
    (["order", "K", "--help"], None),
    (["--help", "order", "K"], None),
    (["order", "K", "--json", "--json"], None),  # repeated
    (["order", "K", "--at"], None),  # a missing value
    (["order", "K", "--at", "--json"], None),
    (["order", "K", "--db="], None),
    (["order", "K", "--config", "p.toml"], None),  # a global option after the command
    (["--at", "now", "order", "K"], None),  # an order option before it
    (["order", "-K"], None),
    (["sla", "K"], None),
    (["search", "order"], None),
])
def test_only_plain_order_lines_take_the_fast_path(argv: list[str], parsed: OrderLine | None) -> None:
    assert parse(argv) == parsed


def _into_a_closed_pipe(args: list[str]) -> tuple[int, str]:
    """(exit code, stderr) of a command whose stdout reader has gone, as after `| head -1`."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([sys.executable, "-m", "console.cli", *args], stdout=write,
                                stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write)
    return result.returncode, result.stderr


@pytest.mark.parametrize("args", [["order", "#1129"], ["order", "#1129", "--json"],
                                  ["sla", "report", "--at", AT], ["sla", "report", "--fail-on-breach"]])
def test_output_into_a_pipe_whose_reader_went_away_ends_quietly(estate: Path, args: list[str]) -> None:
    # Not 'backroom: [Errno 32] Broken pipe' with exit 2, nor click's silent exit 1 (a failed check).
    assert _into_a_closed_pipe(["--db", str(estate), *args]) == (141, "")


def test_a_command_that_writes_nothing_to_the_closed_pipe_still_says_why_it_failed(estate: Path) -> None:
    code, err = _into_a_closed_pipe(["--db", str(estate), "order", "ORD-NOPE"])
    assert (code, err) == (1, "backroom: no order matches 'ORD-NOPE'\n")
