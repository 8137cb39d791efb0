"""Discarding dead letters, shared by `dlq discard` and the console's D: archive in the store, or
take off the broker too (through the replay engine, so nothing is acked that was not archived)."""

from __future__ import annotations

import uuid

from console.replay.plan import Request, Summary
from queries import Store, audit, replays

ARCHIVE = "archive (store)"  # the audit target when the broker copy stays


def archive(store: Store, ids: list[str], reason: str) -> Summary:
    """Mark the dead letters discarded with the reason, and write the audit row, in one unit."""
    with store.writing() as cursor:
        rows = replays.selection(cursor, ids, None)
        found = [row.id for row in rows]
        replays.mark(cursor, found, "discarded", reason)
        audit.record(cursor, "discard", found, ARCHIVE, False,
                     "ok" if len(found) == len(ids) else "partial", {"reason": reason})
    known = set(found) | {row.message_id for row in rows}
    return Summary("discard", False, uuid.uuid4().hex, ARCHIVE, moved=found,
                   failed=[{"id": i, "cause": "no dead letter matches this id"} for i in ids if i not in known])


def from_broker(ids: list[str], reason: str, source_url: str) -> Request:
    """The engine's request that archives and then acks the broker's copies; the audit keeps why."""
    return Request(action="discard", keys=list(ids), reason=reason, batch=50, rate=0,
                   source_url=source_url, detail={"reason": reason})
