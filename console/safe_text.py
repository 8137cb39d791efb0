"""Untrusted text made inert: control characters become visible placeholders before any output."""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and the C1 range (which some terminals treat as CSI, OSC...).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ONE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _placeholder(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures": ␛ for ESC, ␀ for NUL
    if code == 0x7F:
        return "\u2421"
    return f"\\x{code:02x}"


def inert(text: str) -> str:
    """Text with every terminal control character replaced by a visible placeholder."""
    return _CONTROL.sub(_placeholder, text)


def inert_line(text: str) -> str:
    """Like `inert`, and newlines and tabs too, for table cells and one-line messages."""
    return _ONE_LINE_CONTROL.sub(_placeholder, text)
