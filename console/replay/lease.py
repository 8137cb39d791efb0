"""One active replay per source queue: a local lock file plus, on a broker, an exclusive lease queue.

The file lock (flock) refuses a second operator on this machine and says who and since when; the
broker lease (an exclusive, auto-deleted queue named after the source) refuses one on any machine
and disappears by itself when the holder's connection dies, so a killed console never wedges it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import orjson

from console.replay.journal import journal_name
from queries import extensions
from queries.errors import BackroomError


class LeaseHeld(BackroomError):
    """Another operator is replaying from the same source queue."""

    exit_code = 1


def lease_queue_name(vhost: str | None, queue: str) -> str:
    """The broker-side lease for a source queue (exclusive queues are owned by one connection)."""
    return f"backroom.lease.{journal_name('rabbitmq', vhost, queue)[:-6]}"


class FileLease:
    """An flock'd file under backroom's home naming the holder; released on close or process death."""

    def __init__(self, broker: str, vhost: str | None, queue: str, who: str) -> None:
        self.path = extensions.home() / "leases" / journal_name(broker, vhost, queue).replace(
            ".jsonl", ".lease")
        self.queue = queue
        self.who = who
        self._handle: IO[bytes] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # noqa: SIM115 (held while the lease is held)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(self.path)
            handle.close()
            raise LeaseHeld(f"queue {self.queue} is being replayed by {holder}; try again when it ends")
        handle.seek(0)
        handle.truncate()
        handle.write(orjson.dumps({"who": self.who, "since": datetime.now(UTC).isoformat(
            timespec="seconds"), "pid": os.getpid(), "host": socket.gethostname()}))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _holder(path: Path) -> str:
    for _ in range(3):  # the holder writes its name right after locking
        try:
            info = orjson.loads(path.read_bytes())
            return f"{info['who']} (pid {info['pid']} on {info['host']}) since {info['since']}"
        except (OSError, orjson.JSONDecodeError, KeyError):
            time.sleep(0.05)
    return "another backroom session"
