"""Tables and lists on a narrow terminal (an on-call engineer's 80-column SSH session): the
columns a command can spare are left out, and said so, before the rest are cut to a few
characters; a long list breaks between its items."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from console import output
from queries import Store
from queries.ingest import Table
from tests.estate import add_events, add_rows, dead_letter, event, minutes
from tests.test_cli import backroom
from tests.test_cli_rejects import on_a_terminal

ERROR = "Timeout after 30000 ms calling POST https://erp.example/api/salesinvoices/SI-{n}"


@pytest.fixture
def db(store: Store, store_path: Path) -> str:
    add_rows(store, Table.DLQ_MESSAGES, [
        dead_letter(f"dl-{n:022d}", "erp.invoices.dlq", f"ORD-{n:08d}", reason="delivery_limit",
                    original_queue="erp.invoices", fingerprint=f"{n % 2:016x}",
                    first_death_at=minutes(n), last_death_at=minutes(n), error_text=ERROR.format(n=n))
        for n in range(1, 7)])
    return str(store_path)


def test_dlq_list_at_80_columns_keeps_what_triage_needs_and_names_what_it_left_out(db: str) -> None:
    screen = on_a_terminal("--db", db, "dlq", "list", columns=80, with_stderr=True).splitlines()
    piped = backroom("--db", db, "dlq", "list").stdout.splitlines()
    assert piped[0].split() == ["id", "queue", "reason", "count", "order", "status", "group", "last",
                                "death"]  # a pipe has every column, for grep

    header, *rows, note, count = screen
    assert max(map(len, screen)) <= 80  # not one wrapped line
    assert header.split() == ["id", "reason", "order", "last", "death"]
    # every row whole: the id to pass to `dlq show`, the order, when it died
    assert sorted(row.split()[0] for row in rows) == sorted(line.split()[0] for line in piped[1:])
    assert all("…" not in row for row in rows)
    assert rows[0].split()[1:3] == ["delivery_limit", "ORD-00000006"]
    assert count == "1–6 of 6"
    assert note == "(left out to fit 80 columns: queue, count, status, group)"


def test_a_wide_terminal_shows_every_column_and_no_note(db: str) -> None:
    screen = on_a_terminal("--db", db, "dlq", "groups", columns=200, with_stderr=True).splitlines()
    assert screen[0].split()[:5] == ["group", "count", "orders", "reason", "queue"]
    assert "left out" not in "\n".join(screen)
    # a group of sixteen digits is an id, not a card number: shown whole, to pass back
    assert screen[1].startswith("0000000000000000  3")
    assert screen[1].endswith("/api/salesinvoices/SI-2")  # its sample error, whole


def test_dlq_groups_at_80_columns_keep_the_queue_and_the_error_readable(db: str, store: Store) -> None:
    # The ERP timeout fails alike on two queues: its groups differ by queue, and the groups of one
    # queue by their error; when they last failed and how is what goes first.
    add_rows(store, Table.DLQ_MESSAGES, [dead_letter(
        "dl-orders", "erp.orders.dlq", "ORD-00000099", reason="delivery_limit",
        original_queue="erp.orders", fingerprint=f"{9:016x}", first_death_at=minutes(9),
        last_death_at=minutes(9), error_text=ERROR.format(n=9))])
    screen = on_a_terminal("--db", db, "dlq", "groups", columns=80, with_stderr=True).splitlines()
    header, *rows, note = screen
    assert max(map(len, screen)) <= 80
    assert header.split() == ["group", "count", "queue", "error"]
    assert rows[0].startswith("0000000000000000  3") and "Timeout after 30000 ms calling" in rows[0]
    assert sorted(row.split()[2] for row in rows) == [
        "erp.invoices.dlq", "erp.invoices.dlq", "erp.orders.dlq"]
    assert note == "(left out to fit 80 columns: orders, reason, first seen, last seen)"


def test_columns_go_in_the_order_given_and_only_as_many_as_must(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    headers = ["id", "a", "b", "c", "error"]
    row = ("x" * 20, "a" * 10, "b" * 10, "c" * 10, "e" * 60)
    # whole: 20 + 3 x 10 + 60 + 4 gaps of 2 = 118
    assert output.shown_columns(headers, [20, 10, 10, 10, 60], ("c", "a", "b"), 118) == headers
    # the error may be cut to READABLE (20): 20 + 30 + 20 + 8 = 78 fits 80 with nothing left out
    assert output.shown_columns(headers, [20, 10, 10, 10, 60], ("c", "a", "b"), 80) == headers
    assert output.shown_columns(headers, [20, 10, 10, 10, 60], ("c", "a", "b"), 70) == [
        "id", "a", "b", "error"]
    assert output.shown_columns(headers, [20, 10, 10, 10, 60], ("c", "a", "b"), 50) == ["id", "error"]
    monkeypatch.setenv("COLUMNS", "60")
    output.emit_table(headers, [row], spare=("c", "a"))
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["id                    b           error",
                                         f"{'x' * 20}  {'b' * 10}  {'e' * 25}…"]
    assert captured.err == "(left out to fit 60 columns: a, c)\n"


def test_lag_names_how_many_stores_are_quiet_and_wraps_them_between_stores(
        store: Store, store_path: Path) -> None:
    add_events(store, [event(None, "inventory.movement", minutes(n), system="pos", movement_id=f"M{n}",
                             store_id=f"{n:04d}") for n in range(25)])
    at = minutes(24 * 60).isoformat()
    screen = on_a_terminal("--db", str(store_path), "lag", "--at", at, columns=80,
                           with_stderr=True).splitlines()
    start = next(index for index, line in enumerate(screen) if line.startswith("quiet stores"))
    quiet = screen[start:]
    assert quiet[0].startswith("quiet stores (25, the 20 quietest): 0000 (1d 0h), 0001 (23h 59m),")
    assert max(map(len, quiet)) <= 80 and len(quiet) > 1
    named = " ".join(quiet).replace(",", " ").split()[6:]
    # each store with its quiet time, none split between two lines: the 20 quietest, in order
    assert named[0::3] == [f"{n:04d}" for n in range(20)]
    assert all(hours.startswith("(") and minutes_.endswith(")")
               for hours, minutes_ in zip(named[1::3], named[2::3]))
