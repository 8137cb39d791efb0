"""What was quarantined, as the on-call engineer asks after an ingest or a night of `collect`."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import orjson
import pytest

from console import output
from queries import Store
from tests.test_cli import backroom, read_terminal

GOOD = {"specversion": "1.0", "id": "e-1", "source": "shopify/webhooks", "type": "order.captured",
        "time": "2026-03-01T10:00:00Z", "data": {"order_id": "SO-1"}}


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[str, Path, str]:
    """A store and a folder of files with bad records among good ones, ingested by the CLI."""
    folder = tmp_path / "in"
    folder.mkdir()
    lines = [orjson.dumps(GOOD)]
    lines += [b'{"specversion":"1.0","id":"e-%d","source' % n for n in range(2, 14)]  # 12 cut short
    lines.append(b'{"specversion":"1.0","id":"e-99","card":"4111 1111 1111 1111"')  # cut short too
    (folder / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "notes.txt").write_bytes(b"hello\n")
    db = str(tmp_path / "s.duckdb")
    first = backroom("--db", db, "ingest", str(folder))
    assert first.returncode == 0, first.stderr
    return db, folder, first.stdout + first.stderr


def test_ingest_shows_where_and_why_records_were_rejected(ingested: tuple[str, Path, str]) -> None:
    db, folder, said = ingested
    lines = said.splitlines()
    assert lines[0] == "2 files: 1 row, 14 rejects, 0 duplicates skipped"
    assert lines[2].split() == ["source", "line", "reason"]
    shown = [line.split()[:2] for line in lines[3:13]]
    assert shown[0] == [str(folder / "events.jsonl"), "2"] and len(shown) == 10
    assert "4 more: 'backroom rejects' lists them all" in said
    again = backroom("--db", db, "ingest", str(folder))  # unchanged files: their rejects are stored
    assert again.stdout.splitlines()[0] == "2 files: 0 rows, 14 rejects, 1 duplicate skipped"
    assert "14 rejected when these files were read before: 'backroom rejects' lists them" in again.stderr


def test_rejects_lists_the_quarantine_for_scripts_and_people(ingested: tuple[str, Path, str]) -> None:
    db, folder, _ = ingested
    found = json.loads(backroom("--db", db, "rejects", "--json").stdout)
    assert found["total"] == 14 and len(found["rejects"]) == 14
    by_place = {(r["source"], r["line"]): r for r in found["rejects"]}
    card = by_place[(str(folder / "events.jsonl"), 14)]
    assert "4111 1111 1111 1111" not in json.dumps(found) and "**** **** **** 1111" in card["excerpt"]
    assert set(card) >= {"source", "line", "byte_offset", "reason", "excerpt", "rejected_at"}
    notes = backroom("--db", db, "rejects", "--source", "NOTES.txt", "--json").stdout
    assert [r["source"] for r in json.loads(notes)["rejects"]] == [str(folder / "notes.txt")]
    table = backroom("--db", db, "rejects", "--reason", "not json", "--source", "notes")
    assert table.stdout.splitlines()[0].split() == ["rejected", "at", "source", "line", "excerpt", "reason"]
    assert "hello\\x0a" in table.stdout and table.stderr == "1–1 of 1\n"
    rows = list(csv.DictReader(io.StringIO(backroom("--db", db, "rejects", "--format", "csv").stdout)))
    assert len(rows) == 14 and rows[0]["rejected at"].endswith("Z") and "T" in rows[0]["rejected at"]


def test_rejects_since_leaves_out_older_ones(ingested: tuple[str, Path, str]) -> None:
    db, _, _ = ingested
    with Store.at(Path(db)).writing() as cursor:
        cursor.execute("UPDATE rejects SET rejected_at = rejected_at - INTERVAL 2 DAY WHERE line > 2")
    recent = json.loads(backroom("--db", db, "rejects", "--since", "1d", "--json").stdout)
    assert recent["total"] == 2 and {r["line"] for r in recent["rejects"]} <= {1, 2}
    assert backroom("--db", db, "rejects", "--since", "soon").returncode == 2


def on_a_terminal(*args: str, columns: int, with_stderr: bool = False) -> str:
    """What `backroom ARGS` shows with its output (and its notes, `with_stderr`) on a terminal
    `columns` wide."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([sys.executable, "-m", "console.cli", *args], stdout=side,
                               stderr=side if with_stderr else subprocess.DEVNULL, env=env)
    os.close(side)
    screen = read_terminal(main)
    assert process.wait(timeout=60) == 0
    return screen.decode().replace("\r\n", "\n")


def test_rejects_fit_an_80_column_terminal_and_stay_whole_in_a_pipe(
        ingested: tuple[str, Path, str]) -> None:
    db, _, _ = ingested
    piped = backroom("--db", db, "rejects").stdout.splitlines()
    assert max(map(len, piped)) > 100  # the full source path and excerpt, for grep

    shown = on_a_terminal("--db", db, "rejects", columns=80).splitlines()

    assert len(shown) == len(piped) and max(map(len, shown)) <= 80
    # the excerpt is left out rather than every column cut to a few characters
    assert shown[0].split() == ["rejected", "at", "source", "line", "reason"]
    assert all("…" in line for line in shown[1:])  # each long cell says it was cut
    sources = [row[shown[0].index("source"):].split()[0] for row in shown[1:]]
    # a path is cut at its start: its end names the file
    assert all(source.startswith("…") and source.endswith(("/events.jsonl", "/notes.txt"))
               for source in sources)
    line_column = shown[0].index("line")
    assert sorted(int(row[line_column:].split()[0]) for row in shown[1:]) == sorted(
        int(row[piped[0].index("line"):].split()[0]) for row in piped[1:])


def test_a_table_keeps_the_ids_people_pass_back_whole_when_it_is_cut_to_fit(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    dead_letter = "dl-2f0c1b9e8a7d6c5b4a39281706f5e4d3"
    output.emit_table(["id", "queue", "error"], [
        (dead_letter, "orders.dlq", "PRECONDITION_FAILED - inventory service timed out " * 3)])
    header, row = capsys.readouterr().out.splitlines()
    assert row == f"{dead_letter}  orders.dlq  PRECONDITI…"  # 60 columns, the id whole
    assert header.split() == ["id", "queue", "error"]
