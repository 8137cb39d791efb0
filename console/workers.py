"""Queries off the UI thread: each runs in a thread worker, in its own unit of work, and reports by message."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
from opentelemetry import trace

from console.messages import Loaded, QueryFailed
from queries import Store
from queries.errors import BackroomError
from queries.policy import Policy

Fetch = Callable[[duckdb.DuckDBPyConnection], Loaded]
LIVE_SECONDS = 5.0
# A live refresh waits at least this many times as long as its screen's last query held the store:
# the console then holds the store (which a collector waits for, or spools around) and a core at
# most a fifth of the time. A 7 s overview on a 20M-event store is asked again after 28 s, not 5.
LIVE_BACKOFF = 4.0
_clock = time.perf_counter
_query_ids = itertools.count(1)
_tracer = trace.get_tracer("backroom.console")


@dataclass(frozen=True)
class Context:
    """What every screen needs and nothing changes while the console runs."""

    store: Store
    policy: Policy
    role: str
    frozen_now: datetime | None = None  # tests and screenshots freeze "now"; None is the wall clock
    live_seconds: float | None = LIVE_SECONDS

    def now(self) -> datetime:
        return self.frozen_now or datetime.now(UTC)

    @property
    def may_change(self) -> bool:
        """Whether this role may see actions that change anything (replay, reroute, discard)."""
        return self.role == "oncall"


class Running:
    """One query in flight: its id, and its cursor while it has one, so that it can be interrupted."""

    def __init__(self) -> None:
        self.query_id = next(_query_ids)
        self.cancelled = False
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def attach(self, cursor: duckdb.DuckDBPyConnection | None) -> None:
        with self._lock:
            self._cursor = cursor

    def interrupt(self) -> None:
        """Stop the query (duckdb interrupts only the cursor it is called on); its result is dropped."""
        with self._lock:
            self.cancelled = True
            if self._cursor is not None:
                try:
                    self._cursor.interrupt()
                except duckdb.Error:
                    pass


def run_query(store: Store, fetch: Fetch, running: Running, screen: str = "") -> Loaded:
    """Run `fetch` in one read unit of work (a span: free without an SDK); every failure is one line."""
    held = 0.0  # seconds the store was held, for the next live refresh (LIVE_BACKOFF)
    try:
        with _tracer.start_as_current_span("console query", attributes={"backroom.screen": screen}), \
                store.reading() as cursor:
            running.attach(cursor)
            held_from = _clock()
            try:
                message = fetch(cursor)
            finally:
                running.attach(None)
                held = _clock() - held_from
    except BackroomError as error:
        message = QueryFailed(reason=str(error))
    except duckdb.InterruptException:
        message = QueryFailed(reason="the query was cancelled")
    except duckdb.Error as error:
        message = QueryFailed(reason=f"store error: {str(error).splitlines()[0]}")
    except Exception as error:  # noqa: BLE001 (the console shows one line, never a traceback)
        message = QueryFailed(reason=f"internal error: {type(error).__name__}: {error}")
    message.query_id = running.query_id
    message.seconds = held
    return message
