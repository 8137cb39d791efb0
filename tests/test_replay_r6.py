"""R6: a loopback proxy between the replay engine and the broker cuts (RST) or stalls the link mid-replay.

Oracle (RELIABILITY.md section 7): a census by message id of the DLQ and the target before and
after. Lost is 0; every id found twice (twice in the target, or in the target and still in the
DLQ) is one the engine reported as possibly duplicated; every id reported moved is in the target
and gone from the DLQ. A stall is detected by the confirm timeout (no infinite wait) and the run
names "outcome unknown for N messages" in one line.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Self

import aio_pika
import orjson
import pytest

from console.replay.engine import execute
from console.replay.plan import Request, Summary
from queries import Store
from queries.policy import load
from tests.test_replay_kit import URL, Estate, census, ingest_dlq

pytestmark = pytest.mark.broker

N, BATCH = 300, 50
CONFIRM_TIMEOUT = 1.0
UNKNOWN = re.compile(r"outcome unknown for (\d+) messages?")


class LinkProxy:
    """127.0.0.1:port -> the broker; once `trip_after` bytes went upstream it cuts (RST) or stalls."""

    def __init__(self, fault: str, trip_after: int, upstream: tuple[str, int] = ("127.0.0.1", 5672)) -> None:
        self.fault, self.trip_after, self.upstream = fault, trip_after, upstream
        self.upstream_bytes = 0
        self.tripped = asyncio.Event()
        self.tripped_at = 0.0
        self._links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._never = asyncio.Event()  # a stalled pump waits on this: bytes stop, no RST
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Reset every link (so the broker requeues what a stalled link still held), then stop."""
        assert self._server is not None
        self._server.close()
        self._reset_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        broker_reader, broker_writer = await asyncio.open_connection(*self.upstream)
        self._links.append((client_writer, broker_writer))
        for source, sink, upstream in ((client_reader, broker_writer, True),
                                       (broker_reader, client_writer, False)):
            task = asyncio.ensure_future(self._pump(source, sink, upstream))
            self._tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, upstream: bool) -> None:
        try:
            while data := await source.read(65536):
                if self.tripped.is_set() and self.fault == "stall":
                    await self._never.wait()
                if upstream and not self.tripped.is_set():
                    self.upstream_bytes += len(data)
                    if self.upstream_bytes >= self.trip_after:
                        # the fault lands inside this chunk: part of it goes, the rest never does
                        sink.write(data[: len(data) // 2])
                        self._trip()
                        if self.fault == "stall":
                            await self._never.wait()
                        return
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not self.tripped.is_set() or self.fault == "cut":
                sink.close()

    def _trip(self) -> None:
        self.tripped_at = time.monotonic()
        self.tripped.set()
        if self.fault == "cut":
            self._reset_all()

    def _reset_all(self) -> None:
        for client, broker in self._links:
            for writer in (client, broker):
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    except OSError:
                        pass
                writer.transport.abort()
        self._links.clear()


def request(proxy: LinkProxy, group: str) -> Request:
    return Request(group=group, source_url=proxy.url, rate=0, batch=BATCH,
                   confirm_timeout=CONFIRM_TIMEOUT, idle_timeout=CONFIRM_TIMEOUT)


def group_of(store: Store, queue: str) -> str:
    with store.reading() as cursor:
        return cursor.execute("SELECT any_value(fingerprint) FROM dlq_messages WHERE queue = $q",
                              {"q": queue}).fetchone()[0]


def message_ids(store: Store, queue: str) -> dict[str, str]:
    """dead-letter id -> message id."""
    with store.reading() as cursor:
        return dict(cursor.execute("SELECT id, message_id FROM dlq_messages WHERE queue = $q",
                                   {"q": queue}).fetchall())


async def settled(queue: str, timeout: float = 15.0) -> None:
    """Wait until no consumer is left on the DLQ: the broker has requeued what the dead links held."""
    connection = await aio_pika.connect(URL)
    try:
        channel = await connection.channel()
        deadline = time.monotonic() + timeout
        while (await channel.declare_queue(queue, passive=True)).declaration_result.consumer_count:
            assert time.monotonic() < deadline, f"{queue} kept a consumer"
            await asyncio.sleep(0.05)  # polling the broker for a condition, not waiting out a race
    finally:
        await connection.close()


def check_census(ids: list[str], summary: Summary, by_dlq_id: dict[str, str], dlq: Counter[str],
                 target: Counter[str]) -> set[str]:
    """The Jepsen-style checks; returns the reported ids (message ids)."""
    lost = set(ids) - set(dlq) - set(target)
    assert lost == set(), f"lost {sorted(lost)[:5]}"
    assert set(dlq) | set(target) <= set(ids)  # nothing unexpected
    duplicated = {mid for mid in ids if target[mid] > 1 or (target[mid] and dlq[mid])}
    reported = {by_dlq_id[d] for d in summary.possibly_duplicated}
    assert duplicated <= reported, f"unreported duplicates {sorted(duplicated - reported)[:5]}"
    assert len(reported) <= BATCH  # the duplicate window is one batch
    moved = {by_dlq_id[d] for d in summary.moved}
    assert all(target[mid] >= 1 and not dlq[mid] for mid in moved), "moved but still in the DLQ"
    assert len(set(summary.moved)) == len(summary.moved)
    return reported


@pytest.mark.parametrize("fault", ["cut", "stall"])
async def test_r6_link_fault_mid_replay_loses_nothing_and_names_the_unknown(
        fault: str, store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(N)
        ingest_dlq(store, estate.dlq, tmp_path)
        by_dlq_id = message_ids(store, estate.dlq)
        # ~650 bytes a publish: the fault falls inside the third batch's publishes
        async with LinkProxy(fault, trip_after=int(2.5 * BATCH * 650)) as proxy:
            started = time.monotonic()
            summary = await asyncio.wait_for(
                execute(store, request(proxy, group_of(store, estate.dlq)), load()), 30)
            ended = time.monotonic()
            assert proxy.tripped.is_set(), "the proxy never saw enough bytes to trip"
        await settled(estate.dlq)
        reported = check_census(ids, summary, by_dlq_id, census(estate.dlq), census(estate.work))
        # a re-run on a sound link finishes the job: what was confirmed is only acknowledged
        # (never sent twice), what was unknown is sent again under the same replay id
        resumed = await execute(store, Request(group=group_of(store, estate.dlq), source_url=URL, rate=0,
                                               batch=BATCH, idle_timeout=CONFIRM_TIMEOUT), load())
        assert resumed.failed == resumed.skipped == [] and resumed.stopped is None
        target = census(estate.work)
        assert set(target) == set(ids) and not census(estate.dlq)  # lost 0, all moved
        acked_only = {by_dlq_id[f["id"]] for f in summary.failed if f["cause"].startswith("confirmed by")}
        assert all(target[mid] == 1 for mid in acked_only)
        twice = {mid for mid, copies in target.items() if copies > 1}
        assert twice <= reported | {by_dlq_id[d] for d in resumed.possibly_duplicated}
    assert 0 < len(summary.moved) < N
    # the run stops at the fault and says how many outcomes it cannot know, in one line
    assert summary.stopped is not None and "\n" not in summary.stopped
    match = UNKNOWN.search(summary.stopped)
    assert match, summary.stopped
    unknown = [f for f in summary.failed if f["cause"].startswith("outcome unknown")]
    assert int(match.group(1)) == len(unknown) > 0
    assert {f["id"] for f in unknown} <= set(summary.possibly_duplicated)
    assert summary.exit_code == 1
    if fault == "stall":
        # detected by the confirm timeout, not by the 3x60 s heartbeat grace or never; then at most
        # one bounded ack check and one bounded close (each no longer than the confirm timeout)
        assert ended - proxy.tripped_at < 3 * CONFIRM_TIMEOUT + 2, ended - proxy.tripped_at
    assert ended - started < 15


async def test_r6_the_cli_names_the_unknown_outcomes_in_one_line(store_path: Path, store: Store,
                                                                 tmp_path: Path) -> None:
    """A reset through `backroom dlq replay --json`: exit 1, JSON on stdout, one stderr line with the count."""
    async with Estate() as estate:
        ids = await estate.dead_letters(N)
        ingest_dlq(store, estate.dlq, tmp_path)
        by_dlq_id = message_ids(store, estate.dlq)
        async with LinkProxy("cut", trip_after=int(2.5 * BATCH * 650)) as proxy:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "from console.cli import main; main()", "--db", str(store_path),
                "dlq", "replay", "--group", group_of(store, estate.dlq), "--source", proxy.url,
                "--batch", str(BATCH), "--rate", "0", "--confirm-timeout", str(CONFIRM_TIMEOUT), "--json",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1, err.decode()
        document = orjson.loads(out)
        lines = [line for line in err.decode().splitlines() if UNKNOWN.search(line)]
        assert len(lines) == 1, err.decode()
        assert int(UNKNOWN.search(lines[0]).group(1)) > 0  # type: ignore[union-attr]
        await settled(estate.dlq)
        summary = Summary("replay", False, document["run_id"], document["target"], moved=document["moved"],
                          failed=document["failed"], possibly_duplicated=document["possibly_duplicated"])
        check_census(ids, summary, by_dlq_id, census(estate.dlq), census(estate.work))
