"""Replay, reroute, edit and discard as screens offer them: keys hidden from support, each
confirmed by on-call in a modal first; the screen says what is selected."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType

from console.screens.replay_modal import ReplayModal, ReplaySelection
from console.workers import Context

if TYPE_CHECKING:
    from console.replay.runtime import Destination


class ChangingActions:
    """Replay, reroute, edit and discard: hidden from support; on-call confirms each in a modal first."""

    CHANGING = ("replay", "reroute", "edit", "discard")
    CHANGING_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("R", "replay", "replay", id="dlq.replay"),
        Binding("M", "reroute", "reroute", id="dlq.reroute"),
    ]
    EDIT_BINDING = Binding("E", "edit", "edit & retry", id="dlq.edit")
    DISCARD_BINDING = Binding("D", "discard", "discard", id="dlq.discard")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.CHANGING:
            context: Context = self.app.context  # type: ignore[attr-defined]
            return context.may_change
        return super().check_action(action, parameters)  # type: ignore[misc]

    def replay_selection(self) -> ReplaySelection | None:
        """What R replays on this screen (None: nothing is chosen)."""
        return None

    def _may_act_on(self, selection: ReplaySelection | None, verb: str) -> ReplaySelection | None:
        """`selection` when this user may change things and something is chosen (else None,
        saying so when only the choice is missing)."""
        context: Context = self.app.context  # type: ignore[attr-defined]
        if not context.may_change:
            return None
        if selection is None:
            self.app.notify(f"nothing to {verb} here", markup=False)  # type: ignore[attr-defined]
        return selection

    def action_replay(self) -> None:
        """A dry run in a modal that says what would happen; confirming there sends, then this screen reloads."""
        selection = self._may_act_on(self.replay_selection(), "replay")
        if selection is not None:
            self.app.push_screen(ReplayModal(selection), self._replayed)  # type: ignore[attr-defined]

    def _replayed(self, ran: bool | None) -> None:
        if ran:
            self.reload()  # type: ignore[attr-defined]

    def action_reroute(self) -> None:
        """Ask where to (validated), then the same dry run and confirmation as replay; then this screen reloads."""
        from console.screens.reroute_modal import RerouteTarget

        selection = self._may_act_on(self.replay_selection(), "reroute")
        if selection is None:
            return

        def chosen(to: Destination | None) -> None:
            if to is not None:
                self.app.push_screen(ReplayModal(selection, "reroute", to), self._replayed)  # type: ignore[attr-defined]
        self.app.push_screen(RerouteTarget(selection), chosen)  # type: ignore[attr-defined]

    def discard_selection(self) -> ReplaySelection | None:
        """What D discards on this screen (None: nothing is chosen)."""
        return None

    def action_discard(self) -> None:
        """Ask why (required), say what is archived, archive on confirmation; then this screen reloads."""
        from console.screens.discard_modal import DiscardModal

        selection = self._may_act_on(self.discard_selection(), "discard")
        if selection is not None:
            self.app.push_screen(DiscardModal(selection), self._replayed)  # type: ignore[attr-defined]
