"""Personal data out of what people see: card numbers to their last four, emails and phones masked."""

from __future__ import annotations

import re

# 13-19 digits, optionally grouped by spaces or dashes, as card numbers are written; not a run of
# digits inside a word (a hex id such as a21ee4111111111111111a1e8 holds no card number).
_PAN = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"\+\d[\d ()-]{7,}\d")  # international form only: bare digit runs are too often dates or ids
# What any of the three needs somewhere in the text: one search spares most texts three passes.
_MAYBE_CARD = re.compile(r"\d(?:[ -]?\d){12}")
_MAYBE_PERSONAL = re.compile(r"@|\+\d|" + _MAYBE_CARD.pattern)


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_pan(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if not 13 <= len(digits) <= 19 or not _luhn(digits):
        return match.group()
    return "**** **** **** " + digits[-4:]


def mask_cards(text: str) -> str:
    """Every Luhn-valid card number reduced to its last four digits (always, for every role)."""
    return _PAN.sub(_mask_pan, text) if _MAYBE_CARD.search(text) else text


def mask_email(text: str) -> str:
    return _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}", text)


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group())[-2:], text)


def mask_personal(text: str) -> str:
    """Cards, emails and phone numbers masked: what a support agent sees."""
    if not _MAYBE_PERSONAL.search(text):
        return text
    return mask_phones(mask_email(mask_cards(text)))
