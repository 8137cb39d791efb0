"""Replay to an HTTP ingress (RELIABILITY.md H1-H5) against a real stdlib server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from console.replay.engine import execute
from console.replay.plan import Request
from queries import Store
from queries.policy import load
from tests.test_replay_kit import URL, Estate, census, ingest_dlq

pytestmark = pytest.mark.broker


class Ingress(ThreadingHTTPServer):
    """Records every request; answers per path; dedupes effective processing by Idempotency-Key."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.keys: list[str] = []
        self.processed: Counter[str] = Counter()
        self.attempts: defaultdict[str, int] = defaultdict(int)
        self.bodies: dict[str, bytes] = {}
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Ingress

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = self.headers["Idempotency-Key"]
        server = self.server
        server.keys.append(key)
        server.attempts[key] += 1
        if self.path == "/flaky" and server.attempts[key] <= 2:
            return self._answer(503, b"busy", {"Retry-After": "0"})
        if self.path == "/busy":
            return self._answer(429, b"slow down", {"Retry-After": "0"})
        if self.path == "/redirect":
            return self._answer(307, b"", {"Location": f"{server.url}/ok"})
        if key not in server.bodies:
            server.processed[key] += 1  # honours the key: processes a key once
            server.bodies[key] = body
        if self.path == "/stall" and server.attempts[key] == 1:
            server.release.wait(30)  # processed, but answers too late (H3)
        self._answer(201, b"ok")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def ingress() -> Iterator[Ingress]:
    server = Ingress()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()


def request(runtime: str, **kw: object) -> Request:
    base = {"source_url": URL, "runtime_url": runtime, "rate": 0, "idle_timeout": 2.0,
            "http_backoff": 0.01, "confirm_timeout": 5.0}
    return Request(**{**base, **kw})  # type: ignore[arg-type]


def group_of(store: Store, queue: str) -> str:
    with store.reading() as cursor:
        return cursor.execute("SELECT any_value(fingerprint) FROM dlq_messages WHERE queue = $q",
                              {"q": queue}).fetchone()[0]


async def test_h1_2xx_acks_and_the_key_is_the_replay_id(store: Store, tmp_path: Path, ingress: Ingress) -> None:
    async with Estate() as estate:
        await estate.dead_letters(5)
        ingest_dlq(store, estate.dlq, tmp_path)
        summary = await execute(store, request(f"{ingress.url}/ok", group=group_of(store, estate.dlq)), load())
        assert len(summary.moved) == 5 and census(estate.dlq) == Counter()
        with store.reading() as cursor:
            keys = {r[0] for r in cursor.execute("SELECT replay_id FROM replays").fetchall()}
        assert set(ingress.keys) == keys and len(keys) == 5


async def test_h2_5xx_is_retried_with_the_same_key_then_429_gives_up(store: Store, tmp_path: Path,
                                                                      ingress: Ingress) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(3)
        ingest_dlq(store, estate.dlq, tmp_path)
        flaky = await execute(store, request(f"{ingress.url}/flaky", group=group_of(store, estate.dlq)), load())
        assert len(flaky.moved) == 3
        assert all(count == 3 for count in ingress.attempts.values())  # two 503s, then 201, one key
    async with Estate() as estate:
        ids = await estate.dead_letters(2)
        ingest_dlq(store, estate.dlq, tmp_path)
        busy = await execute(store, request(f"{ingress.url}/busy", group=group_of(store, estate.dlq)), load())
        assert busy.moved == [] and all("HTTP 429" in f["cause"] and "after 4 attempts" in f["cause"]
                                        for f in busy.failed)
        assert sorted(census(estate.dlq)) == sorted(ids)


async def test_h3_timeout_is_unknown_not_acked_and_the_retry_reuses_the_key(
        store: Store, tmp_path: Path, ingress: Ingress) -> None:
    async with Estate() as estate:
        [mid] = await estate.dead_letters(1)
        ingest_dlq(store, estate.dlq, tmp_path)
        group = group_of(store, estate.dlq)
        first = await execute(store, request(f"{ingress.url}/stall", group=group, confirm_timeout=0.5), load())
        # the read timed out after processing; the retry carried the same key and was confirmed
        assert len(first.moved) == 1 and first.possibly_duplicated == first.moved
        assert len(ingress.keys) == 2 and len(set(ingress.keys)) == 1
        assert sum(ingress.processed.values()) == 1  # the ingress honoured the key: once
        assert census(estate.dlq) == Counter() and mid


async def test_h4_connection_refused_is_not_acked(store: Store, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Estate() as estate:
        ids = await estate.dead_letters(2)
        ingest_dlq(store, estate.dlq, tmp_path)
        summary = await execute(store, request(f"https://127.0.0.1:{port}/in", group=group_of(store, estate.dlq)), load())
        assert summary.moved == [] and all("cannot connect" in f["cause"] for f in summary.failed)
        assert summary.possibly_duplicated == [] and sorted(census(estate.dlq)) == sorted(ids)


async def test_h5_redirect_is_not_followed(store: Store, tmp_path: Path, ingress: Ingress) -> None:
    async with Estate() as estate:
        ids = await estate.dead_letters(1)
        ingest_dlq(store, estate.dlq, tmp_path)
        summary = await execute(store, request(f"{ingress.url}/redirect", group=group_of(store, estate.dlq)), load())
        assert summary.moved == [] and "307 redirect" in summary.failed[0]["cause"]
        assert ingress.processed == Counter() and sorted(census(estate.dlq)) == sorted(ids)
