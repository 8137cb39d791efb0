"""The state stepper of a journey: states reached, the current one with its age, the ones still missing."""

from __future__ import annotations

from textual.content import Content

from console.output import seconds
from console.widgets.fitting import ByWidth, filled
from queries.journey import Journey

_ARROW, _LINE_END = Content(" → "), Content(" →")
FORWARD = ("captured", "payment_authorized", "inventory_reserved", "fulfillment_released", "shipped",
           "invoiced", "settled")
TILL_SKIPS = ("inventory_reserved", "fulfillment_released", "shipped", "picked_up")
RETURNS = ("return_requested", "return_received", "refund_issued", "refund_settled")


def path_of(journey: Journey) -> list[str]:
    """The states this order is expected to pass: picked up instead of shipped for BOPIS, no
    reservation or handover for a till sale, and the return path once a return began."""
    reached = {step.state for step in journey.states}
    if journey.channel == "pos" and not reached & set(TILL_SKIPS):
        path = [state for state in FORWARD if state not in TILL_SKIPS]  # the goods leave at the till
    else:
        handover = "picked_up" if journey.channel == "bopis" or "picked_up" in reached else "shipped"
        path = [handover if state == "shipped" else state for state in FORWARD]
    if reached & set(RETURNS):
        path += RETURNS
    return path


def steps(journey: Journey) -> list[Content]:
    """Each state of the path: ✓ reached, ● current (with age), ! skipped, ○ not yet."""
    reached = {step.state: step for step in journey.states}
    path = path_of(journey)
    current = path.index(journey.state) if journey.state in path else -1
    parts: list[Content] = []
    for index, state in enumerate(path):
        label = state.replace("_", " ")
        if state == journey.state:
            age = seconds(journey.age_seconds)
            part = Content.assemble(("● ", "bold $text-accent"), (label, "bold"),
                                    (f" {age}", "$text-accent"))
        elif state in reached:
            part = Content.assemble(("✓ ", "$text-success"), label,
                                    (f" {reached[state].at:%H:%M}", "$foreground-muted"))
        elif index < current:
            part = Content.assemble(("! ", "bold $text-warning"),
                                    (f"{label} (no event)", "$text-warning"))
        else:
            part = Content.styled(f"○ {label}", "$foreground-muted")
        parts.append(part)
    return parts


def laid_out(parts: list[Content], width: int) -> Content:
    """The steps joined by arrows, on as many lines of `width` cells as they need, each line
    ending with its arrow; a line breaks between two steps, never inside one (unless a step alone
    is wider than the line)."""
    return Content("\n").join(filled(parts, width, between=_ARROW, ending=_LINE_END))


class StateStepper(ByWidth):
    """Shows `steps(journey)` on one line, or on more in a narrow terminal, a step never split."""

    DEFAULT_CSS = """
    StateStepper { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._parts: list[Content] = []

    def show(self, journey: Journey) -> None:
        self._parts = steps(journey)
        self.refresh(layout=True)

    def at_width(self, width: int) -> Content:
        return laid_out(self._parts, width)
