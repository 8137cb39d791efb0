"""What a replay will do before it touches anything: the selection, verdicts, and who is skipped why."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from console.replay import verdicts
from console.replay.runtime import Destination, redact_url
from queries import Store, replays
from queries.policy import Policy
from queries.replays import ReplayRow

DEFAULT_RATE = 100.0
DEFAULT_BATCH = 50
DEFAULT_MAX_REPLAYS = 5
DEFAULT_CONFIRM_TIMEOUT = 30.0
PAST = {"replay": "replayed", "reroute": "rerouted", "edit": "edited", "discard": "discarded"}


@dataclass
class Request:
    """Everything one replay, reroute, edit or discard was asked to do."""

    action: str = "replay"
    keys: list[str] = field(default_factory=list)
    group: str | None = None
    to: Destination | None = None
    runtime_url: str | None = None
    source_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    from_store: bool = False
    dry_run: bool = False
    rate: float = DEFAULT_RATE
    batch: int = DEFAULT_BATCH
    canary: int = 0
    canary_wait: float = 30.0
    max_replays: int = DEFAULT_MAX_REPLAYS
    force: bool = False
    body: bytes | None = None
    new_message_id: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    idle_timeout: float = 5.0
    confirm_timeout: float = DEFAULT_CONFIRM_TIMEOUT
    http_backoff: float = 0.5

    @property
    def runtime(self) -> str:
        return self.runtime_url or self.source_url

    @property
    def target_label(self) -> str:
        if self.to is not None:
            return self.to.describe()
        return f"original destination via {redact_url(self.runtime)}"


@dataclass
class Summary:
    """The result every face shows: the DESIGN.md JSON keys plus the dry run's verdicts."""

    action: str
    dry_run: bool
    run_id: str
    target: str
    moved: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    possibly_duplicated: list[str] = field(default_factory=list)
    verdicts: list[verdicts.Verdict] = field(default_factory=list)
    stopped: str | None = None

    @property
    def exit_code(self) -> int:
        """0 when everything asked for happened (or a clean dry run), 1 when anything was refused."""
        if self.failed or self.stopped:
            return 1
        if self.dry_run:
            return 1 if any(v.verdict in verdicts.NEEDS_FORCE for v in self.verdicts) else 0
        return 1 if self.skipped else 0

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "dry_run": self.dry_run, "run_id": self.run_id,
                "target": self.target, "moved": self.moved, "skipped": self.skipped,
                "failed": self.failed, "possibly_duplicated": sorted(set(self.possibly_duplicated)),
                "stopped": self.stopped, "counts": verdicts.counts(self.verdicts),
                "verdicts": [v.to_json() for v in self.verdicts]}


@dataclass
class Plan:
    """The rows to send, grouped by source queue, and what was decided for the others."""

    request: Request
    summary: Summary
    rows: dict[str, ReplayRow]
    to_send: dict[tuple[str, str | None, str], list[ReplayRow]]
    records: list[replays.ReplayRecord] = field(default_factory=list)
    store: Store | None = None


def destination_for(row: ReplayRow, request: Request) -> Destination:
    if request.to is not None:
        return request.to
    if request.runtime.startswith(("http://", "https://")):
        return Destination(row.original_exchange or "", row.original_routing_key or "", request.runtime)
    return Destination(row.original_exchange or "", row.original_routing_key or row.original_queue or "")


def build(store: Store, request: Request, policy: Policy) -> Plan:
    """Select, judge and decide; nothing is sent and nothing written here."""
    summary = Summary(request.action, request.dry_run, uuid.uuid4().hex, request.target_label)
    with store.reading() as cursor:
        rows = replays.selection(cursor, request.keys, request.group)
        ids = [row.id for row in rows]
        reached = replays.order_states(cursor, sorted({r.order_id for r in rows if r.order_id}))
        newer = replays.newer_dead_letters(cursor, ids)
        confirmed = replays.confirmed_before(cursor, ids)
    found = {row.id for row in rows} | {row.message_id for row in rows if row.message_id}
    for key in request.keys:
        if key not in found:
            summary.failed.append({"id": key, "cause": "no dead letter matches this id"})
    if request.group and not rows:
        summary.failed.append({"id": request.group, "cause": "no dead letters in this failure group"})
    plan = Plan(request, summary, {row.id: row for row in rows}, {}, store=store)
    for row in rows:
        target = destination_for(row, request).describe()
        verdict = verdicts.judge(row, target, policy.states, reached.get(row.order_id or ""),
                                 newer.get(row.id))
        summary.verdicts.append(verdict)
        refusal = _refusal(row, verdict, confirmed.get(row.id), request)
        if refusal:
            summary.skipped.append({"id": row.id, "cause": refusal})
        else:
            plan.to_send.setdefault((row.broker, row.vhost, row.queue), []).append(row)
    return plan


def _refusal(row: ReplayRow, verdict: verdicts.Verdict, earlier: Any, request: Request) -> str | None:
    """Why this row is not sent without --force (None: it is sent)."""
    if request.force or request.action == "discard":
        return None
    if earlier is not None and earlier.outcome != "confirmed":
        # ("confirmed" alone: the target took it but the source never surely let go of it; the
        # journal makes a re-run acknowledge it without sending it again)
        return (f"already {PAST.get(earlier.action, earlier.action)} and confirmed ({earlier.outcome}, run {earlier.run_id[:8]}); "
                "use --force to send it again")
    if row.status != "dead":
        return f"status is {row.status}; use --force to send it again"
    if verdict.verdict in verdicts.NEEDS_FORCE:
        return f"{verdict.verdict}: {verdict.reason}; use --force to send it anyway"
    return None
