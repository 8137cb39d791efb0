"""The `backroom` Typer app: thin commands over queries/ and collectors/ (DESIGN.md, CLI contract).
`console.cli` is the entry point; the command modules (`cli_*.py`) register here."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from console import output
from console.cli import GLOBAL_OPTIONS, apply_global_options
from console.errors import run_safely
from console.options import DbOption, JsonOption, store_for
from queries import policy
from queries.errors import BackroomError

if TYPE_CHECKING:
    from collectors import IngestReport, ProgressInfo

app = typer.Typer(
    name="backroom",
    help="See what your integration middleware is doing between POS, storefront and ERP, and put it right.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version  # only here: it costs the other commands ~40 ms

        output.emit_line(f"backroom {version('backroom')}")
        raise typer.Exit()


@app.callback()
def main_options(
    db: DbOption = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Policy file (default $BACKROOM_CONFIG or ./backroom.toml).")] = None,
    show_version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """backroom: order journeys, SLA breaches, inventory lag and dead letters, joined per order."""
    apply_global_options(db, config)


@app.command()
def demo(
    orders: Annotated[int, typer.Option(min=10, help="How many orders the estate has.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed builds the same estate.")] = 7,
    db: DbOption = None,
    no_tui: Annotated[bool, typer.Option("--no-tui", help="Build and print a summary; no console.")] = False,
) -> None:
    """Build a realistic demo estate into the store, then open the console."""
    from console import demo as demo_builder

    built = demo_builder.build(store_for(db).path, orders=orders, seed=seed)
    output.emit_line(built.summary())
    if not no_tui:
        from console.launch import open_console

        open_console(built.db)


class _ProgressLine:
    """`ingest`'s progress on stderr: files done of all, MB and records read so far, rows/s."""

    def __init__(self) -> None:
        import time

        self.clock = time.perf_counter
        self.started = self.clock()
        self.file, self.bytes, self.records = "", 0, 0  # the files finished, counted

    def __call__(self, info: ProgressInfo) -> None:
        path, whole = str(info.path), info.bytes_done >= info.bytes_total
        if whole and self.file != path:
            self.file, self.bytes = path, self.bytes + info.bytes_total
            self.records += info.records
        counted = self.file == path  # this file is in the totals already
        records = self.records + (0 if counted else info.records)
        megabytes = (self.bytes + (0 if counted else info.bytes_done)) / 1e6
        rate = records / max(self.clock() - self.started, 1e-6)
        sys.stderr.write(f"\r{info.files_done + whole}/{info.files_total} files  "
                         f"{megabytes:,.1f} MB  {records:,} records  {rate:,.0f} rows/s ")
        sys.stderr.flush()


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(
        help="Files or folders to read; - reads standard input.", show_default=False)],
    fmt: Annotated[str, typer.Option(
        "--format", help="auto|otlp|jaeger|events|rabbitmq-dlq|kafka-dlq|sqs-dlq (auto: by content).")] = "auto",
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 if any record was rejected.")] = False,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, metavar="N", show_default=False,
        help="Processes that parse a large file (64 MB or more) [default: one per core; 1: this one].")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read trace, event and dead-letter files into the store, idempotently ('-': standard input)."""
    from collectors import ingest_paths

    store = store_for(db)
    paths, piped = _with_stdin(paths)
    # A progress line on stderr for people at a terminal; never with --json or when piped.
    show = not as_json and sys.stderr.isatty()
    report = ingest_paths(store, paths, fmt=fmt, policy=policy.load(), jobs=jobs,
                          on_progress=_ProgressLine() if show else None)
    if show:
        sys.stderr.write("\n")
    for saved, name in piped:
        _settle_stdin(saved, name, report)
    if as_json:
        output.emit_json(report.to_json())
    else:
        output.emit_line(report.summary_line())
        _show_rejects(report)
    if strict and report.rejects:
        raise typer.Exit(1)


def _with_stdin(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """`-`, and any pipe named as a path (`<(zcat old.jsonl.gz)`), replaced by a saved copy of
    what it holds (collectors/stdin.py); and those copies with what each was."""
    dashes = sum(str(path) == "-" for path in paths)
    if dashes > 1:
        raise typer.BadParameter("standard input can be read once: give '-' once", param_hint="'PATHS'")
    if dashes:
        if sys.stdin is None:
            raise typer.BadParameter("standard input is closed: nothing to read from '-'",
                                     param_hint="'PATHS'")
        if sys.stdin.isatty():
            raise typer.BadParameter("standard input is a terminal: pipe the data in, e.g. "
                                     "kcat -C -J -e -t orders.dlq | backroom ingest -",
                                     param_hint="'PATHS'")
    from collectors import detect, walk

    given: list[Path] = []
    saved: list[tuple[Path, str]] = []
    for path in paths:
        name = "standard input" if str(path) == "-" else str(path)
        if str(path) == "-":
            copy = _save(sys.stdin.buffer, name)
        elif walk.is_pipe(path):
            try:
                with path.open("rb") as stream:
                    copy = _save(stream, name)
            except OSError as exc:
                raise detect.unreadable(path, exc) from None
        else:
            given.append(path)
            continue
        if copy is not None:
            given.append(copy)
            saved.append((copy, name))
    return given, saved


def _save(stream: BinaryIO, name: str) -> Path | None:
    from collectors import stdin

    try:
        saved = stdin.save(stream)
    except OSError as exc:
        raise BackroomError(f"cannot save {name} in {stdin.folder()}: "
                            f"{exc.strerror or exc}") from None
    if saved is None:
        output.note(f"{name} was empty: nothing to read from it")
    return saved


def _settle_stdin(saved: Path, name: str, report: IngestReport) -> None:
    """Keep the saved stream only while rejects point into it."""
    from collectors import stdin

    rejected = sum(source.rejects for source in report.sources if source.path == str(saved))
    if rejected:
        points = "1 reject points" if rejected == 1 else f"{rejected:,} rejects point"
        output.note(f"{name} is kept as {saved} ({points} into it)")
    else:
        stdin.forget(saved)


SHOWN_REJECTS = 10


def _show_rejects(report: IngestReport) -> None:
    """The first rejects of this ingest, where and why, and where to find the rest."""
    if not report.rejects:
        return
    samples = report.reject_samples[:SHOWN_REJECTS]
    if samples:  # none when the files were read before, unchanged: their rejects are stored
        output.emit_line("")
        output.emit_table(["source", "line", "reason"], [(r.source, r.line, r.reason) for r in samples])
    more = report.rejects - len(samples)
    if not samples:
        output.note(f"{more:,} rejected when these files were read before: 'backroom rejects' lists them")
    else:
        output.note(f"{more:,} more: 'backroom rejects' lists them all" if more > 0
                    else "'backroom rejects' lists them with an excerpt of each")


policy_app = typer.Typer(help="The effective policy: correlation, states, SLA rules, inventory.",
                         no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(as_json: JsonOption = False) -> None:
    """Print the effective policy (shipped defaults merged with backroom.toml)."""
    effective = policy.load()
    document = policy.document(effective, as_json=True)
    if as_json:
        output.emit_json(document)
        return
    from console.policy_text import render_toml

    output.emit_line(render_toml(document))


# The modules that hold the other commands. A process registers only the ones its command needs:
# `order` is what on-call runs at 3 a.m., and the replay and dead-letter modules cost it ~20 ms.
COMMAND_MODULES = {"order": ("cli_order",), "search": ("cli_report",), "lag": ("cli_report",),
                   "sla": ("cli_report",), "rejects": ("cli_report",), "tui": ("cli_tui",), "collect": ("cli_collect",),
                   "audit": ("cli_dlq",), "dlq": ("cli_dlq", "cli_replay")}
ALL_MODULES = ("cli_order", "cli_report", "cli_tui", "cli_collect", "cli_dlq", "cli_replay")


def register(names: tuple[str, ...] = ALL_MODULES) -> None:
    for name in names:
        module = importlib.import_module(f"console.{name}")
        if name == "cli_replay":
            module.register(importlib.import_module("console.cli_dlq").dlq_app)
        else:
            module.register(app)


def command_word(argv: list[str]) -> str | None:
    """The command a command line names: its first word after the global options."""
    words = iter(argv)
    for word in words:
        if word in GLOBAL_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def modules_for(argv: list[str]) -> tuple[str, ...]:
    """What to register for a command line: all of it for help, a typo or no command at all."""
    word = command_word(argv)
    if word in {"demo", "ingest", "policy"}:
        return ()
    return COMMAND_MODULES.get(word or "", ALL_MODULES)


def run(argv: list[str]) -> int:
    """Run a command line through Typer, turning every failure into one line on stderr and an exit code."""
    _quiet_library_logs()
    register(modules_for(argv))
    return run_safely(typer.main.get_command(app), argv)


def _quiet_library_logs() -> None:
    """The AMQP client libraries log their own errors on stderr (Python's last-resort handler);
    ours already name each failure in one line, so theirs are not shown."""
    import logging

    for name in ("aiormq", "aio_pika"):
        library = logging.getLogger(name)
        library.addHandler(logging.NullHandler())
        library.propagate = False
