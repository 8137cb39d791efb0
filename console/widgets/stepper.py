"""The state stepper of a journey: states reached, the current one with its age, the ones still missing."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.output import seconds
from queries.journey import Journey

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


def steps(journey: Journey) -> Content:
    """One line (wrapping as needed) of ✓ reached, ● current (with age), ! skipped, ○ not yet."""
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
    return Content(" → ").join(parts)


class StateStepper(Static):
    """Shows `steps(journey)`; wraps onto more lines in a narrow terminal."""

    DEFAULT_CSS = """
    StateStepper { height: auto; }
    """

    def show(self, journey: Journey) -> None:
        self.update(steps(journey))
