"""The one choke point where data becomes display text: masked, made inert, never parsed as markup."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError
from textual.content import Content

from console.output import seconds
from console.safe_text import inert, inert_line
from queries.redact import mask_cards, mask_personal

DASH = "–"
# status words -> the theme variable that colours them
STATUS_TONES = {"met": "text-success", "breached": "text-error", "open": "text-warning",
                "pending": "foreground-muted", "dead": "text-warning", "replayed": "text-success",
                "rerouted": "text-success", "discarded": "foreground-muted", "ok": "text-success",
                "failed": "text-error", "error": "text-error"}


class Redactor:
    """Turns untrusted values into inert Text/Content; masks cards always, personal data by default.

    Only on-call may unmask emails and phones, explicitly (and audited by the app); support never.
    """

    def __init__(self, role: str) -> None:
        self.may_unmask = role != "support"
        self.masks_personal = True

    def masked(self, value: Any) -> str:
        text = "" if value is None else str(value)
        return mask_personal(text) if self.masks_personal else mask_cards(text)

    def line(self, value: Any, style: Style | str = "", *, empty: str = DASH) -> Text:
        """One line of free text (payload, header, error, name): masked, controls made visible."""
        if value is None or value == "":
            return Text(empty, style=style, end="")
        return Text(inert_line(self.masked(value)), style=style, end="")

    def ident(self, value: Any, style: Style | str = "", width: int | None = None) -> Text:
        """An identifier (order id, trace id, queue): controls made visible, not masked, maybe shortened."""
        if value is None or value == "":
            return Text(DASH, style=style, end="")
        text = inert_line(str(value))
        if width is not None and len(text) > width:
            text = text[: width - 1] + "…"
        return Text(text, style=style, end="")

    def block(self, value: Any) -> Content:
        """Multi-line free text (a body, a header dump) for a Static: masked and inert, no markup."""
        return Content(inert(self.masked(value)))

    def content(self, value: Any, style: str = "") -> Content:
        """Like `line`, for a Static (styles may name theme variables: "$text-error")."""
        text = inert_line(self.masked(value)) if value not in (None, "") else DASH
        return Content.styled(text, style) if style else Content(text)

    def ident_content(self, value: Any, style: str = "") -> Content:
        text = inert_line(str(value)) if value not in (None, "") else DASH
        return Content.styled(text, style) if style else Content(text)


def plain(value: Any, style: Style | str = "") -> Text:
    """A value the console computed itself (a count, a duration, a constant word)."""
    return Text(DASH if value is None else str(value), style=style, end="")


def number(value: float | None, style: Style | str = "") -> Text:
    if value is None:
        return plain(None)
    shown = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    return Text(shown, style=style if value else "", justify="right", end="")


def duration(value: float | None, style: Style | str = "") -> Text:
    return Text(DASH if value is None else seconds(value), style=style, justify="right", end="")


def when(value: datetime | None) -> str:
    """A UTC instant, compact: 03-02 11:40:05."""
    return value.strftime("%m-%d %H:%M:%S") if value else DASH


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M") + "Z"


def counted(number: int, noun: str) -> str:
    """'1 trace', '4 traces', '1,200 events'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def page_range(offset: int, shown: int, total: int | None) -> str:
    """'1–200 of 4,811' (or '0 of 0')."""
    if not shown:
        return f"0 of {total:,}" if total is not None else "none"
    first, last = offset + 1, offset + shown
    of = f" of {total:,}" if total is not None else f" of more than {last:,}"
    return f"{first:,}–{last:,}{of}"


class Tones:
    """Rich styles for table cells, taken from the current theme's variables (no colours of our own)."""

    def __init__(self, variables: dict[str, str]) -> None:
        self._variables = variables
        self._cache: dict[str, Style] = {}

    def __call__(self, name: str, bold: bool = False) -> Style:
        key = f"{name}:{bold}"
        if key not in self._cache:
            self._cache[key] = Style(color=self._colour(name), bold=bold)
        return self._cache[key]

    def _colour(self, name: str) -> str | None:
        """The variable's colour, blended over the background when it is translucent."""
        try:
            colour = Color.parse(self._variables[name])
            if colour.a < 1:
                colour = Color.parse(self._variables["background"]) + colour
        except (KeyError, ColorParseError):
            return None
        return colour.hex6

    def status(self, word: str | None) -> Text:
        tone = STATUS_TONES.get(word or "")
        return Text(word or DASH, style=self(tone) if tone else "", end="")
