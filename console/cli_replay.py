"""`dlq replay|reroute|edit|discard`: thin commands over console.replay (issue #6)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from console import output
from console.options import DbOption, JsonOption, store_for
from console.replay import discard as discard_core
from console.replay.plan import (
    DEFAULT_BATCH,
    DEFAULT_CONFIRM_TIMEOUT,
    DEFAULT_MAX_REPLAYS,
    DEFAULT_RATE,
    Request,
    Summary,
)
from console.replay.runtime import UsageError, kind_of, parse_destination, redact_url
from queries import Store, meta, policy, replays

DEFAULT_SOURCE = "amqp://guest:guest@127.0.0.1:5672/"

Ids = Annotated[list[str] | None, typer.Argument(help="Dead-letter ids or message ids.", show_default=False)]
Group = Annotated[str | None, typer.Option("--group", help="Every dead message of this failure group.")]
Runtime = Annotated[str | None, typer.Option(
    "--runtime", help="amqp://…, http(s)://… or sandbox: (default: the source broker; the sandbox "
    "for a store `backroom demo` built).")]
Source = Annotated[str | None, typer.Option(
    "--source", help="The broker holding the DLQ (default $BACKROOM_RABBITMQ_URL or local guest).")]
FromStore = Annotated[bool, typer.Option("--from-store", help="Send the stored bytes (drained messages).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Verdicts only: nothing sent, nothing acked.")]
Rate = Annotated[float, typer.Option("--rate", min=0, help="Messages per second (0: no limit).")]
Batch = Annotated[int, typer.Option("--batch", min=1, max=1000, help="In flight at once (1: per message).")]
Canary = Annotated[int, typer.Option("--canary", min=0, help="Send N, wait for a result, then go on or stop.")]
CanaryWait = Annotated[float, typer.Option("--canary-wait", min=0, help="Seconds the canary waits.")]
MaxReplays = Annotated[int, typer.Option("--max-replays", min=0, help="Refuse messages replayed this often.")]
Force = Annotated[bool, typer.Option("--force", help="Send even if already applied, replayed or poison.")]
ConfirmTimeout = Annotated[float, typer.Option(
    "--confirm-timeout", min=0.1, help="Seconds to wait for a confirm (or any broker answer) before the "
    "outcome is unknown and the run stops.")]


def register(dlq_app: typer.Typer) -> None:
    dlq_app.command("replay")(replay)
    dlq_app.command("reroute")(reroute)
    dlq_app.command("edit")(edit)
    dlq_app.command("discard")(discard)


def _request(action: str, ids: list[str] | None, group: str | None, runtime: str | None,
             source: str | None, store: Store | None = None, **options: object) -> Request:
    if not ids and not group:
        raise UsageError("name dead letters by id, or a failure group with --group")
    if runtime is None and store is not None:
        # The demo's dead letters are on no broker: its replays go to the sandbox, as the console's.
        with store.reading() as cursor:
            runtime = "sandbox:" if meta.is_demo(cursor) else None
    source_url = source or os.environ.get("BACKROOM_RABBITMQ_URL") or DEFAULT_SOURCE
    kind_of(runtime or source_url)  # a bad URL is a usage error before anything is read
    return Request(action=action, keys=list(ids or []), group=group, runtime_url=runtime,
                   source_url=source_url, **options)  # type: ignore[arg-type]


def _run(store: Store, request: Request, as_json: bool) -> None:
    import asyncio  # only replays need an event loop: `order` and reports start faster without it

    from console.replay.engine import execute

    summary = asyncio.run(execute(store, request, policy.load()))
    _emit(summary, as_json)
    raise typer.Exit(summary.exit_code)


def _emit(summary: Summary, as_json: bool) -> None:
    if as_json:
        output.emit_json(summary.to_json())
        if summary.stopped:
            output.note(summary.stopped)  # stdout stays JSON; why it stopped is one line on stderr
        return
    if summary.dry_run:
        output.emit_table(["id", "order", "verdict", "state", "target", "reason"], [
            (v.id, v.order_id, v.verdict, v.state, v.target, v.reason) for v in summary.verdicts],
            spare=("state", "target"))
    counts = summary.to_json()["counts"]
    output.emit_line(f"{summary.action}{' (dry run)' if summary.dry_run else ''} -> {summary.target}: "
                     f"moved {len(summary.moved)}, skipped {len(summary.skipped)}, "
                     f"failed {len(summary.failed)}, possibly duplicated "
                     f"{len(set(summary.possibly_duplicated))}; verdicts {counts}")
    for item in summary.skipped:
        output.note(f"skipped {item['id']}: {item['cause']}")
    for item in summary.failed:
        output.note(f"failed {item['id']}: {item['cause']}")
    if summary.possibly_duplicated:
        output.note("possibly duplicated: " + ", ".join(sorted(set(summary.possibly_duplicated))))
    if summary.stopped:
        output.note(summary.stopped)


def replay(ids: Ids = None, group: Group = None, runtime: Runtime = None, source: Source = None,
           from_store: FromStore = False, dry_run: DryRun = False, rate: Rate = DEFAULT_RATE,
           batch: Batch = DEFAULT_BATCH, canary: Canary = 0, canary_wait: CanaryWait = 30.0,
           max_replays: MaxReplays = DEFAULT_MAX_REPLAYS, force: Force = False,
           confirm_timeout: ConfirmTimeout = DEFAULT_CONFIRM_TIMEOUT,
           db: DbOption = None, as_json: JsonOption = False) -> None:
    """Send dead letters again to where they were going, confirmed and journalled."""
    store = store_for(db)
    request = _request("replay", ids, group, runtime, source, store, from_store=from_store,
                       dry_run=dry_run, rate=rate, batch=batch, canary=canary, canary_wait=canary_wait,
                       max_replays=max_replays, force=force, confirm_timeout=confirm_timeout)
    _run(store, request, as_json)


def reroute(ids: Ids = None, to: Annotated[str, typer.Option(
        "--to", help="EXCHANGE/KEY, queue:NAME or an http(s) URL.")] = "",
            group: Group = None, runtime: Runtime = None, source: Source = None,
            from_store: FromStore = False, dry_run: DryRun = False, rate: Rate = DEFAULT_RATE,
            batch: Batch = DEFAULT_BATCH, max_replays: MaxReplays = DEFAULT_MAX_REPLAYS,
            force: Force = False, confirm_timeout: ConfirmTimeout = DEFAULT_CONFIRM_TIMEOUT,
            db: DbOption = None, as_json: JsonOption = False) -> None:
    """Send dead letters somewhere else (another exchange, queue or URL)."""
    if not to:
        raise UsageError("reroute needs --to EXCHANGE/KEY, queue:NAME or a URL")
    store = store_for(db)
    request = _request("reroute", ids, group, runtime, source, store, to=parse_destination(to),
                       from_store=from_store, dry_run=dry_run, rate=rate, batch=batch,
                       max_replays=max_replays, force=force, confirm_timeout=confirm_timeout)
    _run(store, request, as_json)


def edit(message: Annotated[str, typer.Argument(help="The dead letter's id or message id.")],
         runtime: Runtime = None, source: Source = None, from_store: FromStore = False,
         force: Force = False, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Edit the body in $EDITOR, then send it as a new message (the original id kept in a header)."""
    from console.replay.edit import edit_body, retry

    store = store_for(db)
    with store.reading() as cursor:
        rows = replays.selection(cursor, [message], None)
    if not rows:
        raise UsageError(f"no dead letter matches {message!r}")
    edited = edit_body(rows[0].body)
    request = _request("edit", [rows[0].id], None, runtime, source, store, from_store=from_store,
                       force=force)
    _run(store, retry(request, rows[0].body, edited), as_json)  # as the console's E: same audit row


def discard(ids: Ids = None, reason: Annotated[str, typer.Option(
        "--reason", help="Why (kept with the archived message and in the audit).")] = "",
            remove_from_broker: Annotated[bool, typer.Option(
                "--remove-from-broker", help="Also take it off the broker's queue (after archiving).")] = False,
            source: Source = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Archive dead letters as discarded, with a reason; the broker copy stays unless asked."""
    if not reason.strip():
        raise UsageError("discard needs --reason")
    if remove_from_broker:
        checked = _request("discard", ids, None, None, source)  # the ids and the source checked
        _run(store_for(db), discard_core.from_broker(checked.keys, reason, checked.source_url), as_json)
        return
    if not ids:
        raise UsageError("name the dead letters to discard")
    summary = discard_core.archive(store_for(db), list(ids), reason)
    _emit(summary, as_json)
    raise typer.Exit(summary.exit_code)


__all__ = ["redact_url", "register"]
