"""The top line: where you are among the seven screens, who you are, whether it is live, as of when."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

SCREENS: tuple[tuple[str, str], ...] = (
    ("overview", "overview"), ("orders", "orders"), ("sla", "sla"), ("inventory", "inventory"),
    ("dlq", "dlq"), ("audit", "audit"), ("rejects", "rejects"),
)
# At 80 columns the seven names and the status do not fit: the screens not shown are shortened.
SHORT = {"overview": "over", "orders": "ord", "inventory": "inv", "audit": "aud", "rejects": "rej"}


class TitleBar(Widget):
    """Brand, the numbered screens (the current one marked), role, live state and the as-of time."""

    DEFAULT_CSS = """
    TitleBar { height: 1; width: 1fr; }
    """

    def render(self) -> Content:
        current = getattr(self.app, "current_mode", "")
        screens, shortened = self._screens(current, short=False), self._screens(current, short=True)
        brand: list[tuple[str, str] | str] = [(" backroom ", "bold $text-primary"), " "]
        full, short = self._status(with_time=True), self._status(with_time=False)
        # Narrower terminals (80 columns over SSH) give up the as-of time first (each screen
        # shows it under the title), then the brand, then the other screens' full names; live
        # state and role stay while they fit.
        for left, right in ((brand + screens, full), (brand + screens, short), ([" ", *screens], short),
                            ([" ", *shortened], short)):
            fitted = self._fit(Content.assemble(*left), Content.assemble(*right, " "))
            if fitted is not None:
                return fitted
        return Content.assemble(" ", *shortened)

    @staticmethod
    def _screens(current: str, *, short: bool) -> list[tuple[str, str] | str]:
        screens: list[tuple[str, str] | str] = []
        for index, (mode, label) in enumerate(SCREENS, start=1):
            style = "bold reverse $text-accent" if mode == current else ""
            name = SHORT.get(mode, label) if short and mode != current else label
            screens += [(f"{index}", "$text-primary"), (f" {name} ", style), " "]
        return screens

    def _fit(self, left: Content, right: Content) -> Content | None:
        gap = self.size.width - left.cell_length - right.cell_length
        return None if gap < 1 else Content.assemble(left, " " * gap, right)

    def _status(self, with_time: bool) -> list[tuple[str, str] | str]:
        app = self.app
        context = getattr(app, "context", None)
        if context is None:
            return []
        live = getattr(app, "live", False)
        as_of = getattr(self.screen, "as_of", None)
        wide = self.size.width >= 110
        stamp = "" if as_of is None else as_of.strftime("%Y-%m-%d %H:%MZ" if wide else "%H:%MZ")
        role_style = "bold $text-warning" if context.role == "oncall" else "bold $text-success"
        status: list[tuple[str, str] | str] = [
            ("● live" if live else "○ paused", "$text-success" if live else "$foreground-muted"),
            " · ", (context.role, role_style)]
        if stamp and with_time:  # a screen without an as-of time (orders' search) ends with the role
            status += [" · ", (stamp, "$foreground-muted")]
        return status
