"""The replay journal: an append-only, fsync'd JSONL file per source queue (ids and states, no payloads).

Per dead letter the states only move forward within one attempt:
`intent` (about to publish) -> `confirmed` (the runtime took it) -> `acked` (removed from the source),
or `intent` -> `refused` (definitely not taken) / `unknown` (no trustworthy answer).
Resume rules: `confirmed` -> acknowledge only, never resend; `intent`/`unknown` -> the target may
have it, so a resend reuses the same replay id and is reported as possibly duplicated;
`acked` -> done (sent again only with --force, under a new replay id); `refused` -> free to retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from queries import extensions

INTENT, CONFIRMED, ACKED, REFUSED, UNKNOWN = "intent", "confirmed", "acked", "refused", "unknown"
IN_FLIGHT = (INTENT, UNKNOWN)


@dataclass(frozen=True)
class Entry:
    """The latest journalled state of one dead letter."""

    state: str
    replay_id: str
    run_id: str
    generation: int
    at: float


def folder() -> Path:
    return extensions.home() / "journal"


def journal_name(broker: str, vhost: str | None, queue: str, scope: str = "") -> str:
    """A file name per source queue (and scope: a store, for copies read from it): readable prefix, hash."""
    key = f"{broker}\x1f{vhost or '/'}\x1f{queue}" + (f"\x1f{scope}" if scope else "")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", queue)[:60]
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsonl"


class Journal:
    """Append-only; `intent` and `confirmed` are fsync'd before the send or ack they guard, so a killed replay resumes."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self.entries: dict[str, Entry] = {}
        self.generations: dict[str, int] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._handle = open(path, "ab")  # noqa: SIM115 (held for the run, closed by close())
        _fsync_dir(path.parent)

    def _load(self) -> None:
        if not self.path.exists():
            return
        for line in self.path.read_bytes().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a torn last line from a crash mid-write
            entry = Entry(record["state"], record["replay_id"], record["run"],
                          int(record.get("gen", 0)), float(record.get("at", 0)))
            self.entries[record["id"]] = entry
            self.generations[record["id"]] = max(self.generations.get(record["id"], 0), entry.generation)

    def state(self, dlq_id: str) -> Entry | None:
        return self.entries.get(dlq_id)

    def replay_id(self, dlq_id: str) -> str:
        """The replay id of a dead letter this journal holds (classify() acks only those)."""
        entry = self.entries.get(dlq_id)
        assert entry is not None, f"no journal entry for {dlq_id}"
        return entry.replay_id

    def write(self, state: str, items: list[tuple[str, str]], generation: dict[str, int] | None = None,
              sync: bool = True) -> None:
        """Record `state` for (dead letter id, replay id) pairs; fsync before returning."""
        if not items:
            return
        now = time.time()
        lines = []
        for dlq_id, rid in items:
            gen = (generation or {}).get(dlq_id, self.generations.get(dlq_id, 0))
            self.entries[dlq_id] = Entry(state, rid, self.run_id, gen, now)
            self.generations[dlq_id] = max(self.generations.get(dlq_id, 0), gen)
            lines.append(orjson.dumps({"id": dlq_id, "state": state, "replay_id": rid,
                                       "run": self.run_id, "gen": gen, "at": now}))
        self._handle.write(b"\n".join(lines) + b"\n")
        self._handle.flush()
        if sync:
            os.fsync(self._handle.fileno())

    async def write_durably(self, state: str, items: list[tuple[str, str]]) -> None:
        """`write`, with the fsync on a worker thread: the event loop goes on (acks, deliveries) meanwhile."""
        if items:
            self.write(state, items, sync=False)
            await self.syncing()

    def syncing(self) -> asyncio.Future[None]:
        """An fsync of everything written so far, already started on a worker thread."""
        return asyncio.get_running_loop().run_in_executor(None, os.fsync, self._handle.fileno())

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
