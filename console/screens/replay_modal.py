"""Replay and reroute from the console: a dry run in a worker, a modal that says what would happen, then the run."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, ProgressBar, Static

from console.replay.plan import Request, Summary, build
from console.replay.runtime import Destination, kind_of, redact_url
from console.safe_text import inert_line
from queries import Store, meta
from queries.errors import BackroomError
from queries.policy import Policy

if TYPE_CHECKING:
    from console.app import BackroomApp
    from console.replay.engine import Progress

SHOWN_FORCED = 5  # lines naming what needs --force; the rest are counted


@dataclass(frozen=True)
class ReplaySelection:
    """What R was pressed on: dead letters by id, or a failure group, and how to name it."""

    keys: list[str] = field(default_factory=list)
    group: str | None = None
    label: str = ""


@dataclass
class ReplayPlanned(Message, bubble=False):
    """The dry run finished: the request to confirm, what it would do, or why it could not be planned."""

    request: Request | None = None
    summary: Summary | None = None
    to_send: int = 0
    queues: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass
class ReplayFinished(Message, bubble=False):
    """The real replay ended: its summary (moved, skipped, failed), or the one line that stopped it."""

    summary: Summary | None = None
    reason: str | None = None


def _source_url(brokers: set[str]) -> str:
    """The messages' own broker when the store names it by URL, else the CLI's default source."""
    if len(brokers) == 1:
        broker = next(iter(brokers))
        if broker.startswith(("amqp://", "amqps://")):
            return broker
    from console.cli_replay import DEFAULT_SOURCE

    return os.environ.get("BACKROOM_RABBITMQ_URL") or DEFAULT_SOURCE


def plan_replay(store: Store, policy: Policy, selection: ReplaySelection, action: str = "replay",
                to: Destination | None = None) -> ReplayPlanned:
    """The dry run (worker thread): the engine's plan, nothing sent and nothing written."""
    try:
        with store.reading() as cursor:
            demo = meta.is_demo(cursor)
        request = Request(action=action, keys=list(selection.keys), group=selection.group, dry_run=True,
                          runtime_url="sandbox:" if demo else None, to=to)
        plan = build(store, request, policy)
        if not demo:
            request = replace(request, source_url=_source_url({row.broker for row in plan.rows.values()}))
            kind_of(request.runtime)
            plan = build(store, request, policy)
    except BackroomError as error:
        return ReplayPlanned(reason=str(error))
    except Exception as error:  # noqa: BLE001 (the modal shows one line, never a traceback)
        return ReplayPlanned(reason=f"internal error: {type(error).__name__}: {error}")
    queues = sorted({f"{row.queue} on {row.broker}" for row in plan.rows.values()})
    return ReplayPlanned(request=request, summary=plan.summary, queues=queues,
                         to_send=sum(len(rows) for rows in plan.to_send.values()))


def run_replay(store: Store, policy: Policy, request: Request,
               progress: Progress | None = None) -> ReplayFinished:
    """The real run (worker thread): the engine sends, journals, marks and writes the audit row."""
    from console.replay.engine import execute

    try:
        return ReplayFinished(summary=asyncio.run(execute(store, request, policy, progress)))
    except BackroomError as error:
        return ReplayFinished(reason=str(error))
    except Exception as error:  # noqa: BLE001
        return ReplayFinished(reason=f"internal error: {type(error).__name__}: {error}")


def outcome_line(summary: Summary) -> str:
    """The toast: how the run ended, in the CLI's words (why it stopped before any single failure)."""
    text = (f"{summary.action} -> {summary.target}: moved {len(summary.moved)}, "
            f"skipped {len(summary.skipped)}, failed {len(summary.failed)}")
    if summary.possibly_duplicated:
        text += f", possibly duplicated {len(set(summary.possibly_duplicated))}"
    if summary.stopped:
        text += f" ({summary.stopped})"
    elif summary.failed:
        text += f" (first failure: {summary.failed[0]['cause']})"
    return inert_line(text)


class ReplayModal(ModalScreen[bool]):
    """Says exactly what a replay (or reroute) would do (the dry run), then runs it on confirmation; True: it ran."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="replay.cancel")]

    def __init__(self, selection: ReplaySelection, action: str = "replay", to: Destination | None = None) -> None:
        super().__init__()
        self.selection = selection
        self.action = action
        self.to = to
        self.verb = action.capitalize()
        self.planned: ReplayPlanned | None = None
        self.running = False

    @property
    def backroom(self) -> BackroomApp:
        return cast("BackroomApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="replay"):
            yield Static(id="replay-what", classes="replay-heading")
            yield Static(id="replay-facts")
            yield Static(id="replay-forced", classes="hidden")
            yield Checkbox("force: also send the ones that need --force", id="replay-force", classes="hidden")
            yield ProgressBar(id="replay-progress", show_eta=False, show_percentage=False)
            with Horizontal(id="replay-buttons"):
                yield Button(self.verb, id="replay-go", variant="warning", disabled=True)
                yield Button("Cancel", id="replay-cancel")

    def on_mount(self) -> None:
        self.query_one("#replay").border_title = self.verb
        self.query_one("#replay-what", Static).update(Content(inert_line(
            f"{self.verb} {self.selection.label}: dry run in progress, nothing is sent yet…")))
        context = self.backroom.context
        self._plan(context.store, context.policy, self.selection)

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay")
    def _plan(self, store: Store, policy: Policy, selection: ReplaySelection) -> None:
        self.post_message(plan_replay(store, policy, selection, self.action, self.to))

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay")
    def _run(self, store: Store, policy: Policy, request: Request) -> None:
        def progress(settled: int, total: int) -> None:
            self.app.call_from_thread(self._advance, settled, total)
        self.post_message(run_replay(store, policy, request, progress))

    def _advance(self, settled: int, total: int) -> None:
        """The engine settled another batch (UI thread)."""
        self.query_one("#replay-progress", ProgressBar).update(total=total, progress=settled)

    @on(ReplayPlanned)
    def _planned(self, message: ReplayPlanned) -> None:
        self.planned = message
        self.query_one("#replay-progress").add_class("hidden")
        summary = message.summary
        if summary is None or message.request is None:
            self.query_one("#replay-what", Static).update(Content(inert_line(
                f"{self.verb} {self.selection.label}: the dry run failed: {message.reason}")))
            return
        total = len(summary.verdicts)
        self.query_one("#replay-what", Static).update(Content.assemble(
            (f"{self.verb} {total} message{'' if total == 1 else 's'}", "bold"),
            Content(inert_line(f" of {self.selection.label}")),
            ("  ·  dry run: nothing has been sent yet", "$foreground-muted")))
        self.query_one("#replay-facts", Static).update(self._facts(message, summary))
        self._show_forced(summary, total - message.to_send)
        self._label_button()

    def _facts(self, message: ReplayPlanned, summary: Summary) -> Content:
        redactor = self.backroom.redactor
        counts = summary.to_json()["counts"]
        targets = sorted({verdict.target for verdict in summary.verdicts})

        def fact(label: str, value: Content) -> Content:
            return Content.assemble((f"{label:>9} ", "$foreground-muted"), value)
        return Content("\n").join([
            fact("from", redactor.ident_content(", ".join(message.queues) or "–")),
            fact("to", redactor.ident_content(", ".join(targets) or "–")),
            # the runtime alone: the target label says "original destination via …" for the audit
            fact("via", redactor.ident_content(summary.target if message.request is None
                                               else redact_url(message.request.runtime))),
            fact("verdicts", Content("  ".join(f"{name} {count}" for name, count in counts.items()))),
            fact("sends", Content(f"{message.to_send} safe now; "
                                  f"{len(summary.verdicts) - message.to_send} need --force")),
        ])

    def _show_forced(self, summary: Summary, needing: int) -> None:
        forced = self.query_one("#replay-forced", Static)
        if needing <= 0:
            return
        lines = [inert_line(f"{item['id']}: {item['cause']}") for item in summary.skipped[:SHOWN_FORCED]]
        if len(summary.skipped) > SHOWN_FORCED:
            lines.append(f"… and {len(summary.skipped) - SHOWN_FORCED} more")
        forced.update(Content.assemble(("need --force:\n", "bold $text-warning"), Content("\n".join(lines))))
        forced.remove_class("hidden")
        self.query_one("#replay-force").remove_class("hidden")

    def _sending(self) -> int:
        if self.planned is None or self.planned.summary is None:
            return 0
        if self.query_one("#replay-force", Checkbox).value:
            return len(self.planned.summary.verdicts)
        return self.planned.to_send

    def _label_button(self) -> None:
        button = self.query_one("#replay-go", Button)
        count = self._sending()
        forced = self.query_one("#replay-force", Checkbox).value
        button.label = f"{self.verb} {count} (force)" if forced else f"{self.verb} {count} safe"
        button.disabled = count == 0 or self.running

    @on(Checkbox.Changed, "#replay-force")
    def _force_changed(self, _event: Checkbox.Changed) -> None:
        self._label_button()

    @on(Button.Pressed, "#replay-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#replay-go")
    def _go_pressed(self) -> None:
        self.action_confirm()

    def action_cancel(self) -> None:
        """Close without sending anything (not while a replay runs: it finishes and reports)."""
        if not self.running:
            self.dismiss(False)

    def action_confirm(self) -> None:
        """Send what the dry run showed, in a worker, with the progress bar running."""
        planned = self.planned
        if self.running or planned is None or planned.request is None or self._sending() == 0:
            return
        self.running = True
        force = self.query_one("#replay-force", Checkbox).value
        request = replace(planned.request, dry_run=False, force=force)
        for widget in self.query("#replay-buttons Button, #replay-force").results():
            widget.disabled = True
        sending = self._sending()
        self.query_one("#replay-what", Static).update(Content(inert_line(
            f"{self.verb.removesuffix('e')}ing {sending} message{'' if sending == 1 else 's'} "
            f"of {self.selection.label}{' (force)' if force else ''}…")))
        bar = self.query_one("#replay-progress", ProgressBar)
        bar.update(total=sending, progress=0)
        bar.remove_class("hidden")
        context = self.backroom.context
        self._run(context.store, context.policy, request)

    @on(ReplayFinished)
    def _finished(self, message: ReplayFinished) -> None:
        self.running = False
        summary = message.summary
        if summary is None:
            self.app.notify(inert_line(f"{self.action} failed: {message.reason}"), severity="error", markup=False)
        else:
            self.app.notify(outcome_line(summary), markup=False,
                            severity="warning" if summary.exit_code else "information")
        self.dismiss(True)
