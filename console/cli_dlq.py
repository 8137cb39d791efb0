"""CLI commands over dead letters: groups, list, show (replay and the others: console/cli_replay.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from console import output
from console.options import DbOption, JsonOption, UnmaskOption, store_for, unmask
from console.timeargs import duration
from queries import audit, dlq
from queries.errors import BackroomError

dlq_app = typer.Typer(help="Dead letters: failure groups, list, show, replay, reroute.", no_args_is_help=True)
StatusOption = Annotated[list[str] | None, typer.Option(
    "--status", help="dead, replayed, rerouted or discarded (repeatable; default dead).")]


class UnknownMessage(BackroomError):
    exit_code = 1


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")
    app.command("audit")(audit_trail)


def audit_trail(
    who: Annotated[str | None, typer.Option(help="Only this operator's actions.")] = None,
    action: Annotated[str | None, typer.Option(help="replay, reroute, edit or discard.")] = None,
    since: Annotated[str | None, typer.Option(help="Only the last 24h, 8h, 30m, ... (e.g. last night's).")] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """The actions trail: every replay, reroute, edit and discard, who, when, and how it ended."""
    back = duration(since)
    cutoff = datetime.now(UTC) - back if back is not None else None
    with store_for(db).reading() as cursor:
        found = audit.trail(cursor, who=who, action=action, since=cutoff)
    if as_json:
        output.emit_json({"actions": [a.model_dump(mode="json") for a in found]})
        return
    output.emit_table(["at", "who", "action", "messages", "target", "dry run", "outcome"], [
        (a.at, a.who, a.action, len(a.message_ids), a.target, "yes" if a.dry_run else "no", a.outcome)
        for a in found], spare=("dry run", "messages", "target"))


@dlq_app.command("groups")
def groups(status: StatusOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Dead letters grouped by failure fingerprint: count, queues, first/last seen, orders."""
    with store_for(db).reading() as cursor:
        found = dlq.groups(cursor, statuses=status)
    if as_json:
        output.emit_json({"groups": [g.model_dump(mode="json") for g in found]})
        return
    output.emit_table(["group", "count", "orders", "reason", "queue", "first seen", "last seen", "error"], [
        (g.group, g.count, g.orders, g.reason, g.queue, g.first_seen, g.last_seen,
         output.clipped(g.sample_error or "", 80)) for g in found],
        # Two groups of one error differ by queue (an ERP timeout on orders and on invoices).
        spare=("first seen", "orders", "reason", "last seen", "queue"))


@dlq_app.command("list")
def list_messages(
    group: Annotated[str | None, typer.Option(help="Only this failure group.")] = None,
    queue: Annotated[str | None, typer.Option(help="Only this queue (dead-letter or original).")] = None,
    order_id: Annotated[str | None, typer.Option("--order", help="Only this order's.")] = None,
    status: StatusOption = None,
    page: Annotated[int, typer.Option(min=1, help="Which page (200 a page).")] = 1,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Dead letters, newest first, filtered by group, queue, order or status."""
    with store_for(db).reading() as cursor:
        found = dlq.page(cursor, statuses=status or ["dead"], group=group, queue=queue,
                         order_id=order_id, offset=(page - 1) * dlq.PAGE)
    if as_json:
        output.emit_json({"total": found.total, "offset": found.offset,
                          "messages": [m.model_dump(mode="json") for m in found.messages]})
        return
    output.emit_table(["id", "queue", "reason", "count", "order", "status", "group", "last death"], [
        (m.id, m.queue, m.reason, m.count, m.order_id, m.status, m.group, m.last_death_at)
        for m in found.messages], spare=("status", "count", "group", "queue"))
    shown = len(found.messages)
    output.note(f"{found.offset + 1 if shown else 0}–{found.offset + shown} of {found.total:,}")


@dlq_app.command("show")
def show(
    message: Annotated[str, typer.Argument(help="The dead letter's id or message id.")],
    db: DbOption = None, as_json: JsonOption = False, show_personal: UnmaskOption = False,
) -> None:
    """One dead letter: where it died and why, its headers, its body decoded, its history."""
    with store_for(db).reading() as cursor:
        found = dlq.show(cursor, message)
    if found is None:
        raise UnknownMessage(f"no dead letter matches {message!r}")
    if show_personal:
        unmask(store_for(db), f"dlq show {found.id}")
    document = found.model_dump(mode="json")  # output masks what it writes
    if as_json:
        output.emit_json(document)
        return
    for label, key in (("id", "id"), ("queue", "queue"), ("died in", "original_queue"),
                       ("reason", "reason"), ("deaths", "count"), ("first death", "first_death_at"),
                       ("last death", "last_death_at"), ("order", "order_id"), ("trace", "trace_id"),
                       ("message id", "message_id"), ("group", "group"), ("status", "status"),
                       ("error", "error_text")):
        output.emit_line(f"{label:>12}: {document[key] if document[key] is not None else '-'}")
    output.emit_line("")
    output.emit_json(document["headers"])
    output.emit_line(f"\nbody ({document['body']['kind']}, {document['body']['size']:,} bytes):")
    output.emit_line(document["body"]["text"])
