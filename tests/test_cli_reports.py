"""The reporting commands as a cron job or a person runs them, over a small hand-made estate."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from queries import Store
from queries.ingest import Table
from tests.estate import add_events, add_rows, dead_letter, event, minutes
from tests.test_cli import backroom

AT = minutes(120).isoformat()


@pytest.fixture
def db(store: Store, store_path: Path) -> str:
    add_events(store, [
        event("SO-1", "order.captured", minutes(0), order_name="#1001", customer_email="a@example.com"),
        event("SO-1", "inventory.reserved", minutes(2)),
        event("SO-2", "order.captured", minutes(0), order_name="#1002"),   # stuck: open breach
        event(None, "inventory.movement", minutes(0), system="pos", movement_id="M1", store_id="0007"),
        event(None, "inventory.applied", minutes(3), system="erp", movement_id="M1", applied_system="erp"),
    ])
    add_rows(store, Table.DLQ_MESSAGES, [
        dead_letter("dl-1", "erp.orders.dlq", "SO-2", fingerprint="g1", first_death_at=minutes(1),
                    error_text="Payment capture failed for order SO-2 at the acquirer gateway: card "
                               "4111111111111111 declined (do not honour)", body=b'{"pan":"4111 1111 1111 1111"}',
                    headers="{}", content_type="application/json")])
    return str(store_path)


def test_order_json_has_the_contract_keys(db: str) -> None:
    result = backroom("--db", db, "order", "#1002", "--at", AT, "--json")
    assert result.returncode == 0, result.stderr
    journey = json.loads(result.stdout)
    assert {"order_id", "order_name", "channel", "state", "states", "events", "spans", "dlq", "sla"} <= set(journey)
    assert journey["order_id"] == "SO-2" and journey["state"] == "captured"
    assert journey["states"][0].keys() >= {"state", "at", "source"}
    assert {"rule": "capture-to-reserve", "status": "open", "elapsed_seconds": 7200.0}.items() <= \
        next(s for s in journey["sla"] if s["rule"] == "capture-to-reserve").items()
    assert [d["id"] for d in journey["dlq"]] == ["dl-1"]


def test_reports_are_in_utc_whatever_the_machines_time_zone(db: str) -> None:
    for args in (("order", "#1002", "--at", AT, "--json"),
                 ("sla", "report", "--at", AT, "--format", "json")):
        utc, new_york = (backroom("--db", db, *args, tz=tz) for tz in ("UTC", "America/New_York"))
        assert new_york.returncode == 0, new_york.stderr
        assert new_york.stdout == utc.stdout
    shown = json.loads(backroom("--db", db, "order", "#1002", "--json", tz="America/New_York").stdout)
    assert shown["dlq"][0]["first_death_at"] == minutes(1).isoformat().replace("+00:00", "Z")


def test_order_for_people_and_an_unknown_key(db: str) -> None:
    shown = backroom("--db", db, "order", "a@example.com", "--at", AT)
    assert shown.returncode == 0 and "order SO-1  #1001" in shown.stdout
    unknown = backroom("--db", db, "order", "#4040")
    assert unknown.returncode == 1 and unknown.stderr == "backroom: no order matches '#4040'\n"


def test_sla_report_formats_and_fail_on_breach(db: str) -> None:
    as_json = backroom("--db", db, "sla", "report", "--at", AT, "--format", "json", "--fail-on-breach")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    reserve = next(r for r in report["rules"] if r["rule"] == "capture-to-reserve")
    assert (reserve["orders"], reserve["met"], reserve["breached"], reserve["open"]) == (2, 1, 0, 1)
    assert [(b["order_id"], b["rule"], b["status"]) for b in report["breaches"]] == [
        ("SO-2", "capture-to-reserve", "open")]
    rows = list(csv.DictReader(io.StringIO(backroom("--db", db, "sla", "report", "--at", AT, "--format", "csv").stdout)))
    assert {"rule": "capture-to-reserve", "orders": "2", "met": "1", "open": "1"}.items() <= rows[0].items()
    markdown = backroom("--db", db, "sla", "report", "--at", AT, "--format", "markdown").stdout
    assert markdown.startswith("| rule | orders | met |") and "| capture-to-reserve | 2 | 1 | 0 | 1 |" in markdown
    # the mailed report names the orders behind the numbers, with the hop that took longest
    assert "\n\n**Breaches** (1)\n\n| order | name | rule | status |" in markdown
    assert "| SO-2 | #1002 | capture-to-reserve | open | 2h 0m | captured -> (still waiting) | 2h 0m |" in markdown
    early = backroom("--db", db, "sla", "report", "--at", minutes(1).isoformat(), "--fail-on-breach")
    assert early.returncode == 0


def test_lag_json_rows(db: str) -> None:
    result = backroom("--db", db, "lag", "--by", "store", "--at", AT, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {(r["key"], r["system"]): r for r in json.loads(result.stdout)["rows"]}
    assert rows[("0007", "erp")]["p50_seconds"] == 180 and rows[("0007", "ecommerce")]["open"] == 1
    assert set(rows[("0007", "erp")]) >= {"key", "system", "movements", "open", "p50_seconds",
                                          "p95_seconds", "max_seconds"}


def test_dlq_commands_mask_card_numbers(db: str) -> None:
    groups = json.loads(backroom("--db", db, "dlq", "groups", "--json").stdout)["groups"]
    assert [(g["group"], g["count"]) for g in groups] == [("g1", 1)]
    # the table cuts a long error where a card number stood: masked first, the cut marked
    table = backroom("--db", db, "dlq", "groups").stdout
    assert table.rstrip().endswith("acquirer gateway: card **** **** *…") and "4111" not in table
    listed = json.loads(backroom("--db", db, "dlq", "list", "--json").stdout)["messages"]
    assert set(listed[0]) >= {"id", "queue", "reason", "count", "order_id", "status", "group"}
    shown = backroom("--db", db, "dlq", "show", "dl-1")
    assert shown.returncode == 0 and "4111 1111 1111 1111" not in shown.stdout
    assert "**** **** **** 1111" in shown.stdout
    missing = backroom("--db", db, "dlq", "show", "nope")
    assert missing.returncode == 1 and missing.stderr == "backroom: no dead letter matches 'nope'\n"


@pytest.mark.parametrize("report", [("sla", "report"), ("lag",)])
def test_json_is_asked_for_with_json_as_on_every_command(db: str, report: tuple[str, ...]) -> None:
    # DESIGN.md: stable JSON with --json or --format json; a cron script reaches for --json first.
    by_flag = backroom("--db", db, *report, "--at", AT, "--json")
    by_format = backroom("--db", db, *report, "--at", AT, "--format", "json")
    assert by_flag.returncode == 0, by_flag.stderr
    assert json.loads(by_flag.stdout) == json.loads(by_format.stdout)
    clash = backroom("--db", db, *report, "--at", AT, "--json", "--format", "csv")
    assert clash.returncode == 2 and clash.stdout == ""
    assert clash.stderr.count("\n") == 1 and "--json and --format csv" in clash.stderr


def test_an_order_known_only_by_its_dead_letter_is_shown(db: str, store: Store) -> None:
    add_rows(store, Table.DLQ_MESSAGES, [dead_letter(
        "dl-7", "erp.orders.dlq", "SO-7", error_text="Gateway refused the card for order SO-7 after three retries: "
        "4111111111111111 (do not honour)")])
    result = backroom("--db", db, "order", "SO-7", "--at", AT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "order SO-7  channel -  store -" and lines[1].startswith("no state reached yet")
    # empty sections say so, rather than a header over nothing
    assert lines[2:8] == ["", "states", "  none", "", "events", "  none"]
    assert result.stdout.endswith("\nsla\n  no rule has started for this order\n")
    # the error is cut to fit, and masked before the cut: no first digits of the card are left
    assert "dl-7" in result.stdout and "retries: **** ***…" in result.stdout and "4111" not in result.stdout


def test_personal_data_is_masked_unless_unmasked_which_is_audited(db: str, tmp_path: Path) -> None:
    # RELIABILITY.md P3: emails and phones masked by default, in the CLI as in the console.
    order = backroom("--db", db, "order", "#1001", "--at", AT, "--json")
    assert json.loads(order.stdout)["customer_email"] == "a***@example.com"
    assert "a@example.com" not in backroom("--db", db, "search", "a@example.com").stdout
    shown = backroom("--db", db, "order", "#1001", "--at", AT, "--json", "--unmask")
    assert json.loads(shown.stdout)["customer_email"] == "a@example.com"
    trail = json.loads(backroom("--db", db, "audit", "--json").stdout)["actions"]
    assert [(a["action"], a["target"], a["outcome"]) for a in trail] == [
        ("unmask", "order #1001", "personal data shown")]
    support = tmp_path / "support.toml"
    support.write_text('[console]\nrole = "support"\n')
    refused = backroom("--db", db, "--config", str(support), "order", "#1001", "--unmask")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == "backroom: the support role does not see personal data unmasked (policy console.role)\n"


def test_a_dead_letters_body_shows_emails_and_phones_masked(db: str, store: Store) -> None:
    add_rows(store, Table.DLQ_MESSAGES, [dead_letter(
        "dl-8", "erp.orders.dlq", "SO-1", body=b'{"email": "ann.lee@example.com", "phone": "+49 30 1234567"}',
        headers='{"x-customer": "ann.lee@example.com"}', content_type="application/json")])
    for args in ((), ("--json",)):
        out = backroom("--db", db, "dlq", "show", "dl-8", *args).stdout
        assert "ann.lee@example.com" not in out and "1234567" not in out
        assert "a***@example.com" in out and "***67" in out


def test_tables_for_people_show_instants_in_utc_with_a_z(db: str) -> None:
    text = backroom("--db", db, "order", "#1001", "--at", AT).stdout
    assert re.search(r"\ncaptured\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})?Z\s", text), text
    assert "+00:00" not in text


def test_the_markdown_lag_report_names_the_quiet_stores(db: str) -> None:
    markdown = backroom("--db", db, "lag", "--at", AT, "--format", "markdown").stdout
    assert "\n\n**Quiet stores** (1)\n\n| store | last event | quiet for |\n" in markdown
    assert re.search(r"\| 0007 \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \| 2h 0m \|", markdown), markdown


def test_identifiers_in_json_are_never_masked(db: str, store: Store) -> None:
    # Scripts pass ids back to replay them: even one that looks like a card number stays whole.
    add_rows(store, Table.DLQ_MESSAGES, [dead_letter("4111111111111111", "erp.orders.dlq", "SO-1")])
    listed = json.loads(backroom("--db", db, "dlq", "list", "--json").stdout)["messages"]
    assert "4111111111111111" in [m["id"] for m in listed]
    assert json.loads(backroom("--db", db, "dlq", "show", "4111111111111111", "--json").stdout)["id"] == \
        "4111111111111111"


def test_sla_breaches_is_the_breach_list_in_every_format(db: str) -> None:
    # the cron job that attaches a CSV wants the orders, not only the per-rule counts
    rows = list(csv.DictReader(io.StringIO(backroom("--db", db, "sla", "breaches", "--at", AT, "--format", "csv").stdout)))
    assert [(r["order_id"], r["order_name"], r["rule"], r["status"]) for r in rows] == [
        ("SO-2", "#1002", "capture-to-reserve", "open")]
    assert rows[0]["elapsed_seconds"] == "7200.0" and rows[0]["from_at"].endswith("Z")
    assert rows[0]["clock_skew"] == "false" and rows[0]["slowest_hop"] == "captured -> (still waiting)"
    document = json.loads(backroom("--db", db, "sla", "breaches", "--at", AT, "--json").stdout)
    assert [b["order_id"] for b in document["breaches"]] == ["SO-2"] and document["at"].endswith("Z")
    table = backroom("--db", db, "sla", "breaches", "--at", AT, "--fail-on-breach")
    assert table.returncode == 1 and table.stdout.splitlines()[1].split()[:4] == ["SO-2", "#1002", "capture-to-reserve", "open"]
    assert backroom("--db", db, "sla", "breaches", "--at", minutes(1).isoformat(), "--fail-on-breach").returncode == 0
