"""`backroom collect`: live collection from an OTLP/HTTP receiver, RabbitMQ dead letters and files."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from console import output
from console.options import DbOption, JsonOption, store_for
from console.safe_text import inert_line
from queries import policy
from queries.errors import BackroomError

if TYPE_CHECKING:
    from collectors.live import Collection, SourceStats


class BadSources(BackroomError):
    """The sources asked for do not make sense together."""


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)


def _address(value: str) -> tuple[str, int]:
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise BadSources(f"--otlp-http wants HOST:PORT, e.g. 127.0.0.1:4318 (got {value!r})")
    return host.strip("[]"), int(port)


def _queues(urls: list[str], queues: list[str], drain: bool) -> list[object]:
    from collectors.rabbitmq_live import QueueSource, masked

    if queues and not urls:
        raise BadSources("--queue needs --rabbitmq URL")
    if urls and len(urls) not in (1, len(queues)):
        shown = ", ".join(masked(url) for url in urls)
        raise BadSources(f"give one --rabbitmq for all queues or one per --queue (got {shown})")
    if urls and not queues:
        raise BadSources("--rabbitmq needs at least one --queue")
    return [QueueSource(urls[min(i, len(urls) - 1)], queue, drain) for i, queue in enumerate(queues)]


def collect(
    otlp_http: Annotated[str | None, typer.Option(
        "--otlp-http", help="Receive OTLP/HTTP traces on HOST:PORT (e.g. 127.0.0.1:4318).")] = None,
    rabbitmq: Annotated[list[str] | None, typer.Option(
        "--rabbitmq", help="AMQP URL of a broker (amqp://user:pass@host:5672/vhost).")] = None,
    queue: Annotated[list[str] | None, typer.Option(
        "--queue", help="A dead-letter queue to read (repeat for more).")] = None,
    drain: Annotated[bool, typer.Option(
        "--drain", help="Take the messages off the queues (stored first, then acked).")] = False,
    follow: Annotated[list[Path] | None, typer.Option(
        "--follow", help="A file or folder to tail (repeat for more).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Read what is there now, then exit.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Collect live until stopped (Ctrl-C or SIGTERM flush and exit 0); dead letters are peeked unless --drain."""
    from collectors.live import Collection, LiveWriter, Plan, summary, summary_line

    plan = Plan(_address(otlp_http) if otlp_http else None,
                _queues(rabbitmq or [], queue or [], drain), list(follow or []), once)
    if not (plan.otlp_http or plan.queues or plan.follow):
        raise BadSources("nothing to collect: give --otlp-http, --rabbitmq with --queue, or --follow")
    if once and plan.otlp_http:
        raise BadSources("--once reads what is there now; a receiver has nothing there yet")
    status = _StatusLine() if not as_json and sys.stderr.isatty() else None
    collection = Collection(LiveWriter(store_for(db)), policy.load(), plan,
                            on_error=lambda message: _error(status, message))
    _run(collection, status)
    stats = collection.stats
    if as_json:
        output.emit_json(summary(stats))
    else:
        output.emit_line(summary_line(stats))
    if once and any(source.error for source in stats):
        raise typer.Exit(2)  # a source could not be read: the summary above says which and why


class _StatusLine:
    """At a terminal, one line on stderr kept up to date: rows stored, rejects, rows/s, per source."""

    WINDOW = 10.0  # seconds: the rate is of the recent past, so a quiet collector shows 0

    def __init__(self) -> None:
        import time
        from collections import deque

        self.clock = time.monotonic
        self.samples: deque[tuple[float, int]] = deque([(self.clock(), 0)])
        self.shown = ""

    def show(self, stats: list[SourceStats]) -> None:
        import shutil

        from collectors.reports import plural

        total, now = sum(sum(s.rows.values()) for s in stats), self.clock()
        while len(self.samples) > 1 and now - self.samples[1][0] >= self.WINDOW:
            self.samples.popleft()
        since, before = self.samples[0]
        rate = (total - before) / max(now - since, 1e-6)
        self.samples.append((now, total))
        parts = " · ".join(f"{s.name} {sum(s.rows.values()):,}" + (" (failing)" if s.error else "")
                           for s in stats)
        line = (f"{plural(total, 'row')}, {plural(sum(s.rejects for s in stats), 'reject')}, "
                f"{rate:,.0f} rows/s  ({parts})")
        width = shutil.get_terminal_size((80, 24)).columns - 1
        line = output.clipped(line, width)
        if line != self.shown:
            sys.stderr.write("\r" + inert_line(line).ljust(len(self.shown)) + "\r" + inert_line(line))
            sys.stderr.flush()
            self.shown = line

    def clear(self) -> None:
        """Off the line, so that what is written next starts at its beginning."""
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.shown = ""


def _error(status: _StatusLine | None, message: str) -> None:
    if status is not None:
        status.clear()
    output.note(f"backroom: {message}")


def _run(collection: Collection, status: _StatusLine | None = None) -> None:
    """Start every source; wait for --once to finish or for SIGINT/SIGTERM; then flush."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        collection.start()
        receiver = collection.receiver
        if receiver is not None:
            host, port = receiver.address
            output.note(f"receiving OTLP/HTTP traces on http://{host}:{port}/v1/traces")
        if collection.plan.once:
            collection.wait_once()
        else:
            output.note("collecting; Ctrl-C or SIGTERM stops and flushes")
            while not stop.wait(0.5):  # a short wait keeps the main thread able to run the signal handler
                if status is not None:
                    status.show(collection.stats)
    finally:
        collection.stop()
        if status is not None:
            status.show(collection.stats)
            status.clear()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stderr.flush()
