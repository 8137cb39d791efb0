"""`backroom collect` as a user runs it: a subprocess, stopped by SIGTERM, or `--once`."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from queries import Store

TRACE = "5b8efff798038103d269b633813fc60c"


_started: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_collector_left() -> Iterator[None]:
    """A test that fails before it stops its `collect` must not leave it running."""
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.communicate()


def collect(args: list[str], home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BACKROOM_HOME": str(home)}
    process = subprocess.Popen([sys.executable, "-m", "console.cli", "collect", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                               cwd=Path(__file__).resolve().parents[1])
    _started.append(process)
    return process


def spans_body(count: int) -> bytes:
    spans = [{"traceId": TRACE, "spanId": f"{i + 1:016x}", "name": "erp.post",
              "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225601000000000",
              "attributes": [{"key": "retail.order_id", "value": {"stringValue": "o-1"}}]}
             for i in range(count)]
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})


def event_line(number: int) -> bytes:
    return orjson.dumps({"specversion": "1.0", "id": f"e-{number}", "source": "/erp/d365",
                         "type": "invoice.posted", "subject": f"o-{number}",
                         "time": "2026-01-01T10:00:00Z"}) + b"\n"


def count(store_path: Path, sql: str) -> int:
    with Store.at(store_path).reading() as cursor:
        row = cursor.execute(sql).fetchone()
    return int(row[0]) if row else 0


def test_sigterm_flushes_everything_acknowledged_and_exits_0(tmp_path: Path) -> None:
    db, feed = tmp_path / "store.duckdb", tmp_path / "feed.jsonl"
    feed.write_bytes(b"".join(event_line(n) for n in range(10)))
    process = collect(["--otlp-http", "127.0.0.1:0", "--follow", str(feed), "--db", str(db),
                       "--json"], tmp_path / "home")
    assert process.stderr is not None
    first = process.stderr.readline().decode()  # "receiving OTLP/HTTP traces on http://…/v1/traces"
    port = int(first.rsplit(":", 1)[1].split("/")[0])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for batch in range(5):
        body = spans_body(100).replace(b'"spanId":"0', f'"spanId":"{batch + 1}'.encode())
        connection.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"{}")
    connection.close()
    with feed.open("ab") as handle:
        handle.write(b"".join(event_line(n) for n in range(10, 15)))
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    summary = orjson.loads(out)
    assert summary["rows"]["spans"] == 500 and summary["rejects"] == 0
    assert count(db, "SELECT count(*) FROM spans") == 500
    assert count(db, "SELECT count(*) FROM events") == 15
    assert b"Traceback" not in err


def test_once_reads_what_is_there_and_exits(tmp_path: Path) -> None:
    db, feed = tmp_path / "store.duckdb", tmp_path / "feed.jsonl"
    feed.write_bytes(b"".join(event_line(n) for n in range(3)) + b"{broken\n")
    process = collect(["--follow", str(feed), "--once", "--db", str(db)], tmp_path / "home")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.decode().splitlines()[0] == "collected 3 rows, 1 reject"
    again = collect(["--follow", str(feed), "--once", "--db", str(db), "--json"], tmp_path / "home")
    out, _ = again.communicate(timeout=60)
    assert orjson.loads(out)["rows"]["events"] == 0  # resumed from its checkpoint: nothing new
    assert count(db, "SELECT count(*) FROM events") == 3


@pytest.mark.parametrize("args, says", [
    ([], "nothing to collect"),
    (["--otlp-http", "localhost"], "HOST:PORT"),
    (["--queue", "q.dlq"], "--queue needs --rabbitmq"),
    (["--otlp-http", "127.0.0.1:0", "--once"], "--once"),
])
def test_bad_usage_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    process = collect([*args, "--db", str(tmp_path / "s.duckdb")], tmp_path / "home")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert len(err.decode().strip().splitlines()) == 1 and says in err.decode()


def test_a_refused_peek_says_why_without_the_password(tmp_path: Path) -> None:
    canary = "pw-canary-93"
    process = collect(["--rabbitmq", f"amqp://guest:{canary}@127.0.0.1:5672/", "--queue",
                       "no.such.dlq", "--once", "--db", str(tmp_path / "s.duckdb")], tmp_path / "home")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert canary.encode() not in out + err
    assert b"guest:***@127.0.0.1" in out


def test_an_unreachable_broker_is_one_line_on_stderr(tmp_path: Path) -> None:
    # aiormq logged its own 'error when creating transport: <AMQPConnectionError …>' beside ours.
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = collect(["--rabbitmq", f"amqp://guest:guest@127.0.0.1:{port}/", "--queue", "q",
                       "--once", "--db", str(tmp_path / "s.duckdb")], tmp_path / "home")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    cause = f"AMQPConnectionError: [Errno 111] Connect call failed ('127.0.0.1', {port})"
    # The user name stays although it is the password too, as in every other message.
    assert err.decode().splitlines() == [f"backroom: amqp://guest:***@127.0.0.1:{port}/ q: {cause}"]


def test_at_a_terminal_collect_keeps_one_status_line_up_to_date(tmp_path: Path) -> None:
    # The on-call engineer who runs collect in a terminal sees that it is alive and what it stored.
    import pty
    import select
    import time

    db, folder = tmp_path / "store.duckdb", tmp_path / "in"
    folder.mkdir()
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "console.cli", "collect", "--follow", str(folder),
                                "--db", str(db)], stdout=subprocess.PIPE, stderr=slave,
                               env={**os.environ, "BACKROOM_HOME": str(tmp_path / "home"), "COLUMNS": "120"},
                               cwd=Path(__file__).resolve().parents[1])
    os.close(slave)
    screen = b""

    def read_until(text: bytes) -> None:
        nonlocal screen
        deadline = time.monotonic() + 60
        while text not in screen.split(b"\r")[-1] and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)  # waits for output, no fixed sleep
            if ready:
                screen += os.read(master, 4096)
        assert text in screen.split(b"\r")[-1], screen

    read_until(b"0 rows, 0 rejects")
    (folder / "feed.jsonl").write_bytes(b"".join(event_line(n) for n in range(7)))
    read_until(b"7 rows, 0 rejects, ")
    assert f"(follow {folder} 7)".encode() in screen.split(b"\r")[-1]
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    os.close(master)
    assert process.returncode == 0
    assert out.decode().splitlines()[0] == "collected 7 rows, 0 rejects"


def test_once_reads_a_file_larger_than_one_read_to_its_end(tmp_path: Path) -> None:
    # --once "reads what is there now": it stored the first 8 MB of a bigger log and said so as
    # if that were all (a poll reads one chunk of each file).
    from collectors.follow import CHUNK

    feed = tmp_path / "feed.jsonl"
    line = len(event_line(0))
    lines = CHUNK // line + 5_000
    feed.write_bytes(b"".join(event_line(n) for n in range(lines)))
    assert feed.stat().st_size > CHUNK
    process = collect(["--follow", str(feed), "--once", "--json", "--db", str(tmp_path / "s.duckdb")],
                      tmp_path / "home")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert orjson.loads(out)["rows"]["events"] == lines
    assert count(tmp_path / "s.duckdb", "SELECT count(*) FROM events") == lines
