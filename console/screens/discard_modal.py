"""Discard from the console: a reason (required), then archive exactly as `backroom dlq discard` does."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from console.replay import discard
from console.replay.plan import Summary
from console.safe_text import inert_line
from console.screens.replay_modal import (
    ReplaySelection,
    _source_url,
    outcome_line,
    run_replay,
)
from queries import Store, meta, replays
from queries.errors import BackroomError
from queries.policy import Policy

if TYPE_CHECKING:
    from console.app import BackroomApp


@dataclass
class DiscardPlanned(Message, bubble=False):
    """The selection resolved: the dead letters a discard would archive, or why it could not be read."""

    ids: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    brokers: set[str] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    demo: bool = False
    reason: str | None = None


@dataclass
class DiscardFinished(Message, bubble=False):
    """The discard ended: its summary (archived, not found), or the one line that stopped it."""

    summary: Summary | None = None
    reason: str | None = None


def plan_discard(store: Store, selection: ReplaySelection) -> DiscardPlanned:
    """Which dead letters the selection names (worker thread); nothing is written."""
    try:
        with store.reading() as cursor:
            rows = replays.selection(cursor, list(selection.keys), selection.group)
            demo = meta.is_demo(cursor)
    except BackroomError as error:
        return DiscardPlanned(reason=str(error))
    return DiscardPlanned(ids=[row.id for row in rows], queues=sorted({f"{r.queue} on {r.broker}" for r in rows}),
                          brokers={row.broker for row in rows}, demo=demo,
                          statuses=dict(Counter(row.status for row in rows)))


def run_discard(store: Store, policy: Policy, planned: DiscardPlanned, reason: str,
                remove: bool) -> DiscardFinished:
    """Archive (worker thread); with `remove`, through the engine off the broker as `--remove-from-broker`."""
    try:
        if remove:
            request = discard.from_broker(planned.ids, reason, _source_url(planned.brokers))
            finished = run_replay(store, policy, request)
            return DiscardFinished(summary=finished.summary, reason=finished.reason)
        return DiscardFinished(summary=discard.archive(store, planned.ids, reason))
    except BackroomError as error:
        return DiscardFinished(reason=str(error))
    except Exception as error:  # noqa: BLE001 (the modal shows one line, never a traceback)
        return DiscardFinished(reason=f"internal error: {type(error).__name__}: {error}")


class DiscardModal(ModalScreen[bool]):
    """Says what a discard archives, asks why (required), archives on confirmation; True: it ran."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="discard.cancel")]

    def __init__(self, selection: ReplaySelection) -> None:
        super().__init__()
        self.selection = selection
        self.planned: DiscardPlanned | None = None
        self.running = False

    @property
    def backroom(self) -> BackroomApp:
        return cast("BackroomApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="discard"):
            yield Static(Content(inert_line(f"Discard {self.selection.label}: reading what it holds…")),
                         id="discard-what")
            yield Static(id="discard-facts")
            yield Input(placeholder="why (required): kept with the archived message and in the audit",
                        id="discard-reason", max_length=500)
            yield Checkbox("also take it off the broker's queue (after archiving)", id="discard-remove",
                           classes="hidden")
            yield Static(id="discard-check")
            with Horizontal(id="discard-buttons"):
                yield Button("Discard", id="discard-go", variant="error", disabled=True)
                yield Button("Cancel", id="discard-cancel")

    def on_mount(self) -> None:
        self.query_one("#discard").border_title = "Discard"
        self.query_one("#discard-reason", Input).focus()
        self._plan(self.backroom.context.store, self.selection)

    @work(thread=True, exclusive=True, exit_on_error=False, group="discard")
    def _plan(self, store: Store, selection: ReplaySelection) -> None:
        self.post_message(plan_discard(store, selection))

    @work(thread=True, exclusive=True, exit_on_error=False, group="discard")
    def _run(self, store: Store, policy: Policy, planned: DiscardPlanned, reason: str, remove: bool) -> None:
        self.post_message(run_discard(store, policy, planned, reason, remove))

    @on(DiscardPlanned)
    def _planned(self, message: DiscardPlanned) -> None:
        self.planned = message
        what = self.query_one("#discard-what", Static)
        if message.reason is not None or not message.ids:
            what.update(Content(inert_line(f"Discard {self.selection.label}: "
                                           f"{message.reason or 'no dead letters to discard'}")))
            self._ready()
            return
        count = len(message.ids)
        what.update(Content.assemble(
            ("Discard ", "bold"),
            (f"{count} dead letter{'' if count == 1 else 's'} of ", "bold") if self.selection.group else "",
            Content(inert_line(self.selection.label))))
        redactor = self.backroom.redactor

        def fact(label: str, value: Content) -> Content:
            return Content.assemble((f"{label:>7} ", "$foreground-muted"), value)
        self.query_one("#discard-facts", Static).update(Content("\n").join([
            fact("from", redactor.ident_content(", ".join(message.queues))),
            fact("status", Content("  ".join(f"{name} {n}" for name, n in sorted(message.statuses.items())))),
        ]))
        self.query_one("#discard-remove").set_class(message.demo, "hidden")
        self._ready()

    def _reason(self) -> str:
        return self.query_one("#discard-reason", Input).value.strip()

    def _removing(self) -> bool:
        return self.planned is not None and not self.planned.demo and \
            self.query_one("#discard-remove", Checkbox).value

    def _ready(self) -> None:
        """The button names the count and is enabled only with a reason; the line says what happens."""
        count = len(self.planned.ids) if self.planned else 0
        button = self.query_one("#discard-go", Button)
        button.label = f"Discard {count}"
        button.disabled = self.running or count == 0 or not self._reason()
        where = ("archived as discarded with your reason, then taken off the broker's queue"
                 if self._removing() else "archived as discarded with your reason; the broker copy stays")
        if count and not self._reason():
            line = Content.styled(f"a reason is required · {where}", "$text-warning")
        else:
            line = Content.styled(where if count else "", "$foreground-muted")
        self.query_one("#discard-check", Static).update(line)

    @on(Input.Changed, "#discard-reason")
    @on(Checkbox.Changed, "#discard-remove")
    def _changed(self) -> None:
        self._ready()

    @on(Input.Submitted, "#discard-reason")
    @on(Button.Pressed, "#discard-go")
    def _go(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#discard-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        """Close without changing anything (not while a discard runs: it finishes and reports)."""
        if not self.running:
            self.dismiss(False)

    def action_confirm(self) -> None:
        """Archive what the modal named, with the reason typed, in a worker."""
        planned, reason = self.planned, self._reason()
        if self.running or planned is None or not planned.ids or not reason:
            return
        self.running = True
        for widget in self.query("#discard Button, #discard Input, #discard Checkbox").results():
            widget.disabled = True
        context = self.backroom.context
        self._run(context.store, context.policy, planned, reason, self._removing())

    @on(DiscardFinished)
    def _finished(self, message: DiscardFinished) -> None:
        self.running = False
        summary = message.summary
        if summary is None:
            self.app.notify(inert_line(f"discard failed: {message.reason}"), severity="error", markup=False)
        else:
            self.app.notify(outcome_line(summary), markup=False,
                            severity="warning" if summary.exit_code else "information")
        self.dismiss(True)
