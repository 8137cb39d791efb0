"""How the CLI writes: stable JSON for scripts, plain tables for people, one-line errors on stderr."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from console.safe_text import inert, inert_line
from queries.redact import mask_cards, mask_personal

# RELIABILITY.md P1/P3: card numbers are masked in every output; emails and phone numbers too,
# unless the command was asked to show them (`--unmask`, which leaves an audit row).
_personal_shown = False


def show_personal_data() -> None:
    """From now on this process writes emails and phone numbers as they are (cards stay masked)."""
    global _personal_shown
    _personal_shown = True


def masked(text: str) -> str:
    return mask_cards(text) if _personal_shown else mask_personal(text)


def _masked_strings(value: Any) -> Any:
    if isinstance(value, str):
        return masked(value)
    if isinstance(value, list):
        return [_masked_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: item if _identifier(key) else _masked_strings(item) for key, item in value.items()}
    return value


def _identifier(key: str) -> bool:
    """Ids that scripts pass back (dead letters, orders, traces, groups): never rewritten."""
    return key in ("id", "group", "fingerprint") or key.endswith(("_id", "_ids"))


def emit_json(document: Any) -> None:
    """Stable, colourless JSON on stdout (sorted keys, UTC times as ISO 8601), strings masked."""
    plain = orjson.loads(orjson.dumps(document, option=orjson.OPT_UTC_Z | orjson.OPT_PASSTHROUGH_DATACLASS,
                                      default=_plain))
    sys.stdout.buffer.write(orjson.dumps(_masked_strings(plain), option=_JSON_OPTIONS, default=_plain))
    sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()


# Dataclasses pass through to `_plain` as dicts, so that their keys are sorted too.
_JSON_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z
                 | orjson.OPT_PASSTHROUGH_DATACLASS)


def when(value: datetime) -> str:
    """An instant for people, in UTC: 2026-12-03 16:37:09Z, with milliseconds when it has any."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{value.microsecond // 1000:03d}Z" if value.microsecond else f"{text}Z"


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: a result dataclass as a dict, anything else as text."""
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return {name: getattr(value, name) for name in fields}
    return str(value)


# Columns whose values people pass back to other commands (`dlq show ID`, `order KEY`,
# `dlq retry --group G`): never cut to fit a terminal, and never masked (emit_table).
HANDLES = frozenset(("id", "group", "order", "dead letter", "trace"))
# File paths: cut at their start, since their end names the file.
TAILS = frozenset(("source",))
SHORT = 24
# Below this a column of free text (an error, a hop, an excerpt) says too little: a table too
# wide for the terminal leaves out the columns its command can spare before it cuts one shorter.
READABLE = 20
_GAP = "  "


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, spare: Sequence[str] = ()) -> None:
    """A plain aligned table: readable in a terminal, greppable in a pipe, no markup interpreted.

    At a terminal the table fits its width (COLUMNS, else the terminal's own). First the columns
    in `spare` (least needed first) are left out, as many as it takes for the rest to fit with
    every column of SHORT characters or fewer whole and no other cut below READABLE; a note on
    stderr after the table names them. Then the widest columns are cut, each cut cell marked by
    an ellipsis, never a column of HANDLES nor one narrower than its header. In a pipe every
    column is there and every cell whole.
    """
    # Handles are ids, as in the JSON (`_identifier`): a group fingerprint of sixteen digits is
    # not a card number, and a masked one could not be passed back.
    handles = [header in HANDLES for header in headers]
    cells = [[inert_line(_cell(value) if handle else masked(_cell(value)))
              for value, handle in zip(row, handles)] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row)]
    left_out: list[str] = []
    room = shutil.get_terminal_size().columns
    if sys.stdout.isatty():
        shown = shown_columns(headers, widths, spare, room)
        if len(shown) < len(headers):
            left_out = [header for header in headers if header not in shown]
            keep = [index for index, header in enumerate(headers) if header in shown]
            headers, widths = shown, [widths[index] for index in keep]
            cells = [[row[index] for index in keep] for row in cells]
        floors = [width if header in HANDLES else len(header)
                  for header, width in zip(headers, widths)]
        widths = fitted(widths, floors, room)
    tails = [header in TAILS for header in headers]

    def line(values: Sequence[str]) -> str:
        return _GAP.join(_fit(value, width, tail).ljust(width)
                         for value, width, tail in zip(values, widths, tails)).rstrip()

    sys.stdout.write("\n".join([line(headers), *map(line, cells)]) + "\n")
    if left_out:
        sys.stdout.flush()  # the note follows the table on the screen
        note(f"(left out to fit {room} columns: {', '.join(left_out)})")


def shown_columns(headers: Sequence[str], widths: Sequence[int], spare: Sequence[str],
                  room: int) -> list[str]:
    """The headers of the columns that fit in `room`: all but the first of `spare` that must go
    for the others to fit with no column of SHORT characters or fewer cut, nor another below
    READABLE (nor a handle at all)."""
    # each column with the gap before it, so the room gains the first column's
    least = [(width if name in HANDLES or width <= SHORT else max(READABLE, len(name))) + len(_GAP)
             for name, width in zip(headers, widths)]
    order = [headers.index(name) for name in spare if name in headers]
    return [headers[index] for index in kept_columns(least, order, room + len(_GAP))]


def kept_columns(least: Sequence[int], spare: Sequence[int], room: int) -> list[int]:
    """The indexes of the columns kept in `room` cells: all but the first of `spare` (indexes,
    least needed first) that must go for the others to fit, each counted `least` cells wide
    with its gap. Every column while there is no room yet (a widget not laid out).

    Used by the CLI's tables (`shown_columns`) and the console's (widgets/table.py)."""
    kept = list(range(len(least)))
    for index in spare:
        if room <= 0 or sum(least[column] for column in kept) <= room:
            break
        if index in kept:
            kept.remove(index)
    return kept


def fitted(widths: Sequence[int], floors: Sequence[int], room: int) -> list[int]:
    """Column widths that fit `room` characters with their gaps, by cutting the widest columns
    to one common width, none below its floor; the floors when even they do not fit.

    Columns of SHORT characters or fewer (an instant, a count, a state) are cut only when cutting
    the wider ones is not enough."""
    room -= len(_GAP) * (len(widths) - 1)
    if sum(widths) <= room:
        return list(widths)
    whole_short = [width if width <= SHORT else floor for width, floor in zip(widths, floors)]
    if sum(whole_short) <= room:
        floors = whole_short

    def at(cap: int) -> list[int]:
        return [min(width, max(cap, floor)) for width, floor in zip(widths, floors)]

    low, high = 0, max(widths)  # the widest cap that fits lies in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if sum(at(middle)) <= room else (low, middle)
    return at(low)


def _fit(text: str, width: int, tail: bool = False) -> str:
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1:] if tail else text[: width - 1] + "…"


def clipped(text: str, longest: int) -> str:
    """`text` masked, then cut to `longest` characters with the cut marked by an ellipsis.

    Masking first: a card number across the cut would leave digits too few to be recognised."""
    text = masked(text)
    return text if len(text) <= longest else text[: longest - 1] + "…"


def emit_line(text: str) -> None:
    sys.stdout.write(inert(masked(text)) + "\n")


def note(text: str) -> None:
    """A diagnostic for people, on stderr so that stdout stays data."""
    sys.stderr.write(inert(masked(text)) + "\n")


def note_list(label: str, items: Sequence[str]) -> None:
    """`label a, b, c` on stderr; at a terminal its lines break between items, never in one."""
    room = shutil.get_terminal_size().columns if sys.stderr.isatty() else sys.maxsize
    lines, current = [], label
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        if len(current) + 1 + len(piece) > room:
            lines.append(current)
            current = "  " + piece
        else:
            current += " " + piece
    note("\n".join([*lines, current]))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def emit_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([["" if value is None else inert_line(masked(_csv_cell(value))) for value in row]
                      for row in rows])


def _csv_cell(value: Any) -> str:
    """A CSV cell: instants in ISO 8601 UTC, as in the JSON (2026-12-03T16:37:09.426000Z)."""
    if isinstance(value, datetime):
        return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode().strip('"')
    return str(value)


def emit_markdown(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    def cell(value: Any) -> str:
        return inert_line(masked(_cell(value))).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")


def emit_rows(fmt: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
              spare: Sequence[str] = ()) -> None:
    """A table in the chosen format: table (leaving out `spare` columns where it must), csv or
    markdown (every column)."""
    if fmt == "csv":
        emit_csv(headers, rows)
    elif fmt == "markdown":
        emit_markdown(headers, rows)
    else:
        emit_table(headers, rows, spare=spare)


def seconds(value: float | None) -> str:
    """A duration for people: 45s, 12m 5s, 3h 20m, 2d 4h."""
    if value is None:
        return "-"
    sign, value = ("-", -value) if value < 0 else ("", value)
    whole = round(value)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{secs}s"
