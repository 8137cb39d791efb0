"""Damaged input, as a real estate has it: what the collectors must quarantine, planted on purpose.

The offline store's till keeps a local log and replays it once it is back online. Its old
firmware writes a cashier's name in Latin-1, logs a declined card's number with no event id,
lets the diagnostic console's screen-clear into the file, and the power cut that ended the
outage tore its last line. The log opens with two events the store hub had forwarded already
(a replay repeats what got through), so ingest finds them stored and skips them. An edge
Collector exported one span with an all-zero trace id (a broken SDK). None of this adds a row:
every damaged record lands in `rejects`, and the manifest lists each with its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from collectors.demo.clock import MINUTE, iso

TILL_LOG = "events/till-replay.jsonl"
EDGE_EXPORT = "traces/edge-collector-export.jsonl"
CARD = "4111111111111111"  # the test card number every payment sandbox accepts


def plant(out_dir: Path, store: str, now: int) -> dict[str, Any]:
    """Write the damaged files; the manifest's `quarantine` section (empty: no event to replay)."""
    replayed = _store_events(out_dir, f"/pos/store/{store}", 3)
    if len(replayed) < 3:
        return {"files": [], "duplicates": 0, "rejects": []}
    source = f"/pos/store/{store}/till/3"
    at = iso(now - 30 * MINUTE)
    cashier = (b'{"specversion":"1.0","id":"till-' + store.encode() + b'-shift-0913","source":"'
               + source.encode() + b'","type":"pos.shift.closed","time":"' + at.encode()
               + b'","data":{"cashier":"Ren\xe9e Lef\xe8vre","till":3}}')
    declined = orjson.dumps({"specversion": "1.0", "source": source, "type": "pos.payment.declined",
                             "time": at, "data": {"pan": CARD, "expiry": "12/29", "amount": 89.9,
                                                  "currency": "EUR"}})
    screen_clear = b"\x1b[2J\x1b[Hdiag> dump buffers ... ok"
    torn = replayed[2][: len(replayed[2]) * 3 // 5]
    lines = [replayed[0], replayed[1], cashier, declined, screen_clear, torn]
    till = out_dir / TILL_LOG
    till.write_bytes(b"\n".join(lines))  # torn: no end of line after the last one
    edge = out_dir / EDGE_EXPORT
    edge.write_bytes(orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge-collector"}}]},
        "scopeSpans": [{"scope": {"name": "pos-hub-bridge"}, "spans": [{
            "traceId": "0" * 32, "spanId": "5d1f0c2a9b3e4f60", "name": "forward till batch",
            "kind": 3, "startTimeUnixNano": str(now * 1000 - 60 * 10**9),
            "endTimeUnixNano": str(now * 1000 - 59 * 10**9)}]}]}]}) + b"\n")
    return {
        "files": [TILL_LOG, EDGE_EXPORT],
        "duplicates": 2,
        "rejects": [
            {"path": TILL_LOG, "line": 3, "why": "a cashier's name in Latin-1, not UTF-8"},
            {"path": TILL_LOG, "line": 4, "why": "no event id; logs a card number"},
            {"path": TILL_LOG, "line": 5, "why": "the diagnostic console's screen-clear"},
            {"path": TILL_LOG, "line": 6, "why": "torn by the power cut"},
            {"path": EDGE_EXPORT, "line": 1, "why": "a span with an all-zero trace id"},
        ],
    }


def _store_events(out_dir: Path, source: str, count: int) -> list[bytes]:
    """The first `count` single-event lines one source wrote, as written."""
    needle = b'"source":"' + source.encode() + b'"'
    found: list[bytes] = []
    for path in sorted((out_dir / "events").glob("events-*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                if line.startswith(b"{") and needle in line:
                    found.append(line.rstrip(b"\n"))
                    if len(found) == count:
                        return found
    return found
