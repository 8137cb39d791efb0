"""`backroom order KEY` without Typer: what on-call and scripts run most, in its plainest shapes.

Importing Typer (and building its command) costs about 30 ms of a ~250 ms `order` process, a tenth
of it. A command line that is exactly `[--db P] [--config F] order KEY [--at T] [--db P] [--json]`
(options as `--opt value` or `--opt=value`, each at most once) runs here, through the same code
and the same error handling as the Typer command; anything else (help, a typo, a repeated or
unknown option) returns None and goes through Typer, which says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console import output, render_journey
from console.cli import GLOBAL_OPTIONS, apply_global_options
from console.errors import UnknownKey, guarded
from console.timeargs import at_or_now
from queries import Store, journey, policy

_ORDER = {"--at", "--db"}  # the options of `order` itself that take a value


@dataclass(frozen=True, slots=True)
class OrderLine:
    key: str
    at: str | None = None
    db: str | None = None  # the order's own --db
    global_db: str | None = None
    config: str | None = None
    as_json: bool = False


def parse(argv: list[str]) -> OrderLine | None:
    """The command line as an `order` in its plainest shape, else None."""
    seen: dict[str, str] = {}
    key: str | None = None
    command = False
    words = iter(argv)
    for word in words:
        name, equals, value = word.partition("=")
        if word == "order" and not command:
            command = True
        elif name in (_ORDER if command else GLOBAL_OPTIONS) and word.startswith("--"):
            if not equals:
                value = next(words, "")
            scoped = name if command else f"global {name}"
            if not value or value.startswith("-") or scoped in seen:
                return None
            seen[scoped] = value
        elif command and word == "--json" and "--json" not in seen:
            seen["--json"] = ""
        elif command and key is None and word and not word.startswith("-"):
            key = word
        else:
            return None
    if key is None:
        return None
    return OrderLine(key=key, at=seen.get("--at"), db=seen.get("--db"), global_db=seen.get("global --db"),
                     config=seen.get("global --config"), as_json="--json" in seen)


def show(key: str, at: str | None, db: Path | None, as_json: bool) -> None:
    """One order's journey on stdout, as text or as stable JSON (the Typer command runs this too)."""
    when, rules = at_or_now(at), policy.load()
    with Store.at(db).reading() as cursor:
        detail = journey.find(cursor, rules, key, when)
    if detail is None:
        raise UnknownKey(f"no order matches {key!r}")
    if as_json:
        output.emit_json(detail)
    else:
        render_journey.print_journey(detail)


def run(argv: list[str]) -> int | None:
    """Run a plain `order` command line and return its exit code; None when it is not one."""
    line = parse(argv)
    if line is None:
        return None
    apply_global_options(line.global_db, line.config)

    def order() -> int:
        show(line.key, line.at, Path(line.db) if line.db is not None else None, line.as_json)
        return 0

    return guarded(order)
