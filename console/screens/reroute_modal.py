"""Reroute from the console: ask where to (validated as the CLI's `--to`), then the replay modal's dry run."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Static

from console.replay.runtime import Destination, UsageError, parse_destination
from console.safe_text import inert_line
from console.screens.replay_modal import ReplaySelection

FORMS = "EXCHANGE/KEY, queue:NAME or http(s)://host/path"


class TargetValidator(Validator):
    """A reroute target the engine accepts: the same parser as `dlq reroute --to`."""

    def validate(self, value: str) -> ValidationResult:
        if not value:
            return self.failure(f"where to? {FORMS}")
        try:
            parse_destination(value)
        except UsageError as error:
            return self.failure(str(error).removeprefix("--to "))
        return self.success()


class RerouteTarget(ModalScreen[Destination | None]):
    """Where the selected dead letters should go instead; dismisses with the destination, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="reroute.cancel")]

    def __init__(self, selection: ReplaySelection) -> None:
        super().__init__()
        self.selection = selection

    def compose(self) -> ComposeResult:
        with Vertical(id="reroute"):
            yield Static(Content.assemble(("Reroute ", "bold"), Content(inert_line(self.selection.label)),
                                          (" to another destination", "bold")), id="reroute-what")
            yield Input(placeholder=FORMS, id="reroute-to", validators=[TargetValidator()],
                        validate_on=["changed", "submitted"])
            yield Static(Content.styled(f"nothing is sent yet: next comes a dry run ({FORMS})",
                                        "$foreground-muted"), id="reroute-check")
            with Horizontal(id="reroute-buttons"):
                yield Button("Dry run", id="reroute-go", variant="warning", disabled=True)
                yield Button("Cancel", id="reroute-cancel")

    def on_mount(self) -> None:
        self.query_one("#reroute").border_title = "Reroute"
        self.query_one("#reroute-to", Input).focus()

    @on(Input.Changed, "#reroute-to")
    def _changed(self, event: Input.Changed) -> None:
        self._show(event.value, event.validation_result)

    @on(Input.Submitted, "#reroute-to")
    def _submitted(self, event: Input.Submitted) -> None:
        self._show(event.value, event.validation_result)
        self.action_confirm()

    def _show(self, value: str, result: ValidationResult | None) -> None:
        check = self.query_one("#reroute-check", Static)
        valid = result is not None and result.is_valid
        self.query_one("#reroute-go", Button).disabled = not valid
        if valid:
            check.update(Content.assemble(("→ ", "$text-success"),
                                          Content(inert_line(parse_destination(value).describe())),
                                          ("  ·  enter for the dry run", "$foreground-muted")))
        elif result is not None:
            check.update(Content.styled(inert_line("; ".join(result.failure_descriptions)), "$text-error"))

    @on(Button.Pressed, "#reroute-go")
    def _go_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#reroute-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_confirm(self) -> None:
        """Go on to the dry run with a valid target (nothing happens on an invalid one)."""
        value = self.query_one("#reroute-to", Input).value
        try:
            destination = parse_destination(value)
        except UsageError:
            return
        self.dismiss(destination)

    def action_cancel(self) -> None:
        self.dismiss(None)
