"""Edit and retry from the console: the body in an editor, checked as `dlq edit` checks it, then a dry run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from console.replay.edit import checked, must_be_json, retry
from console.replay.message import ORIGINAL_MESSAGE_ID
from console.replay.plan import Summary
from console.replay.runtime import UsageError
from console.safe_text import inert, inert_line
from console.screens.replay_modal import ReplayModal, ReplayPlanned, ReplaySelection, plan_replay
from console.widgets.safe import Redactor
from queries import Store
from queries.dlq import DeadLetter
from queries.policy import Policy
from queries.redact import mask_cards

EDIT_LIMIT = 1_000_000  # characters: a larger body is edited with `backroom dlq edit`
# The editor shows C0 controls and DEL as Unicode control pictures (safe_text.inert) and turns
# them back on save. A body already holding such pictures could not be told apart; C1 controls
# have no picture; the TextArea would rewrite U+2028/U+2029 as newlines: such bodies are refused.
_PICTURES = re.compile("[\u2400-\u241f\u2421]")
_UNSHOWABLE = re.compile("[\u2400-\u241f\u2421\x80-\x9f\u2028\u2029]")


class NotEditable(Exception):
    """The body cannot be edited in the console; the message is the one line that says why."""


def editor_text(found: DeadLetter, redactor: Redactor) -> str:
    """The text the editor opens with: the decoded body, control characters shown as pictures."""
    body = found.body
    if body.kind == "binary":
        raise NotEditable(f"the body is binary ({body.size:,} bytes) and cannot be edited here")
    if len(body.text) > EDIT_LIMIT:
        raise NotEditable(f"the body is too large to edit here ({body.size:,} bytes): use backroom dlq edit")
    if _UNSHOWABLE.search(body.text):
        raise NotEditable("the body holds characters the editor could not keep exactly: use backroom dlq edit")
    if mask_cards(body.text) != body.text:
        raise NotEditable("the body holds a card number, which the console never shows: use backroom dlq edit")
    if redactor.masked(body.text) != body.text:
        raise NotEditable("the body holds personal data shown masked: press U to show it (audited), then E")
    return inert(body.text)


def from_editor(text: str) -> str:
    """The editor's text with the control pictures turned back into the characters they stand for."""
    return _PICTURES.sub(lambda m: "\x7f" if m.group() == "\u2421" else chr(ord(m.group()) - 0x2400), text)


@dataclass(frozen=True)
class EditedBody:
    """A saved, checked edit: the body as the editor opened it and as it was saved."""

    dlq_id: str
    shown: bytes
    edited: bytes


class EditBody(ModalScreen[EditedBody | None]):
    """The decoded body in a TextArea; ctrl+s checks it (JSON stays JSON) and goes on to the dry run."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="edit.cancel"),
        Binding("ctrl+s", "save", "check and dry run", id="edit.save"),
    ]

    def __init__(self, found: DeadLetter, redactor: Redactor) -> None:
        super().__init__()
        self.found = found
        try:
            self.text: str | None = editor_text(found, redactor)
            self.refusal = ""
        except NotEditable as why:
            self.text, self.refusal = None, str(why)

    def compose(self) -> ComposeResult:
        found = self.found
        with Vertical(id="edit", classes="-refused" if self.text is None else ""):
            yield Static(Content.assemble(
                ("Edit the body of ", "bold"), Content(inert_line(f"dead letter {found.id}")),
                (f"  ·  {found.body.kind}, {found.body.size:,} bytes", "$foreground-muted")), id="edit-what")
            if self.text is not None:
                yield TextArea(self.text, id="edit-body", soft_wrap=True, show_line_numbers=True)
                yield Static(Content.styled(self._hint(), "$foreground-muted"), id="edit-check")
            else:
                yield Static(Content.styled(inert_line(self.refusal), "$text-warning"), id="edit-check")
            with Horizontal(id="edit-buttons"):
                yield Button("Dry run", id="edit-go", variant="warning", disabled=self.text is None)
                yield Button("Cancel", id="edit-cancel")

    def _hint(self) -> str:
        shown = from_editor(self.text or "").encode()
        check = "checks it is JSON" if must_be_json(shown, self.found.content_type) else "takes it as text"
        return (f"ctrl+s {check} and shows a dry run (nothing is sent yet); it goes out with a new "
                "message id, the original id in a header")

    def on_mount(self) -> None:
        self.query_one("#edit").border_title = "Edit and retry"
        if self.text is not None:
            self.query_one("#edit-body", TextArea).focus()

    @on(TextArea.Changed, "#edit-body")
    def _changed(self) -> None:
        self.query_one("#edit-check", Static).update(Content.styled(self._hint(), "$foreground-muted"))

    @on(Button.Pressed, "#edit-go")
    def _go_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#edit-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:
        """Check the edit as `dlq edit` does; a refusal is one line and the editor stays open."""
        if self.text is None:
            return
        shown = from_editor(self.text).encode()
        edited = from_editor(self.query_one("#edit-body", TextArea).text).encode()
        try:
            checked(shown, edited, self.found.content_type)
        except UsageError as refusal:
            self.query_one("#edit-check", Static).update(Content.styled(inert_line(str(refusal)), "$text-error"))
            return
        self.dismiss(EditedBody(self.found.id, shown, edited))

    def action_cancel(self) -> None:
        self.dismiss(None)


class EditRetry(ReplayModal):
    """The replay modal's dry run and confirmation for an edited body, sent as `dlq edit` sends it."""

    def __init__(self, selection: ReplaySelection, edit: EditedBody) -> None:
        super().__init__(selection, "edit")
        self.verb = "Resend"
        self.edit = edit

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay")
    def _plan(self, store: Store, policy: Policy, selection: ReplaySelection) -> None:
        planned = plan_replay(store, policy, selection, "edit")
        if planned.request is not None:
            planned.request = retry(planned.request, self.edit.shown, self.edit.edited)
        self.post_message(planned)

    def _facts(self, message: ReplayPlanned, summary: Summary) -> Content:
        facts = super()._facts(message, summary)
        if message.request is None:
            return facts
        lines = message.request.detail.get("diff", "").splitlines()[2:]
        added = sum(line.startswith("+") for line in lines)
        removed = sum(line.startswith("-") for line in lines)
        return Content("\n").join([facts, Content.assemble(
            (f"{'edit':>9} ", "$foreground-muted"),
            f"+{added} −{removed} lines; sent as new message id {message.request.new_message_id}, "
            f"the original id kept in {ORIGINAL_MESSAGE_ID}")])
