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
from queries import policy
from queries.errors import BackroomError

if TYPE_CHECKING:
    from collectors.live import Collection


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
    collection = Collection(LiveWriter(store_for(db)), policy.load(), plan,
                            on_error=lambda message: output.note(f"backroom: {message}"))
    _run(collection)
    stats = collection.stats
    if as_json:
        output.emit_json(summary(stats))
    else:
        output.emit_line(summary_line(stats))
    if once and any(source.error for source in stats):
        raise typer.Exit(2)  # a source could not be read: the summary above says which and why


def _run(collection: Collection) -> None:
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
            while not stop.wait(0.5):
                pass  # a short wait keeps the main thread able to run the signal handler
    finally:
        collection.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stderr.flush()
