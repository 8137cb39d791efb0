"""Replay orchestration: lease, bounded scan, journal, confirmed send, ack, and the audit row.

Per batch: journal `intent` (fsync) -> send -> journal `confirmed` (fsync) -> ack the source ->
journal `acked`. A message is acknowledged (or marked replayed) only after its runtime confirmed it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from console.replay import journal as journal_mod
from console.replay.amqp import AmqpRuntime, fault
from console.replay.journal import ACKED, CONFIRMED, IN_FLIGHT, INTENT, REFUSED, UNKNOWN, Journal
from console.replay.lease import FileLease, LeaseHeld
from console.replay.message import REPLAY_ID, Identity, Prepared, Taken, prepare, replay_id
from console.replay.plan import PAST, Plan, Request, Summary, build, destination_for
from console.replay.runtime import Outcome, Runtime, kind_of
from queries import Store, audit, replays
from queries.policy import Policy
from queries.replays import ReplayRecord, ReplayRow


@dataclass
class _Run:
    """State of one source queue's run."""

    plan: Plan
    rows: dict[str, ReplayRow]
    journal: Journal
    source: Any
    runtime: Runtime
    who: str
    records: list[ReplayRecord] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    sent: int = 0
    last_send: float = 0.0

    @property
    def summary(self) -> Summary:
        return self.plan.summary


def make_runtime(store: Store, request: Request, policy: Policy) -> Runtime:
    url = request.to.url if request.to is not None and request.to.url else request.runtime
    if request.action == "discard":
        from console.replay.sandbox import ArchiveRuntime

        return ArchiveRuntime()
    kind = kind_of(url)
    if kind == "amqp":
        return AmqpRuntime(url, request.confirm_timeout)
    if kind == "http":
        from console.replay.http import HttpRuntime

        return HttpRuntime(url, timeout=request.confirm_timeout, backoff=request.http_backoff)
    from console.replay.sandbox import SandboxRuntime

    return SandboxRuntime(store, policy, url)


def _source(store: Store, request: Request, key: tuple[str, str | None, str], rows: list[ReplayRow],
            policy: Policy, who: str) -> Any:
    """Live from the broker, unless the runtime is the sandbox or the operator chose the store."""
    if request.from_store or kind_of(request.runtime) == "sandbox":
        from console.replay.sandbox import StoreSource

        return StoreSource(rows)
    from console.replay.amqp_source import AmqpSource

    return AmqpSource(request.source_url, key[1], key[2], Identity(policy, key[1], key[2]), who,
                      idle_timeout=request.idle_timeout)


async def execute(store: Store, request: Request, policy: Policy) -> Summary:
    """Plan, then (unless a dry run) send queue by queue; always ends with an audit row."""
    plan = build(store, request, policy)
    if not request.dry_run:
        for key, rows in plan.to_send.items():
            await _run_queue(store, plan, key, rows, policy)
    _record(store, plan)
    return plan.summary


async def _run_queue(store: Store, plan: Plan, key: tuple[str, str | None, str], rows: list[ReplayRow],
                     policy: Policy) -> None:
    request, who = plan.request, audit.operator()
    lease = FileLease(key[0], key[1], key[2], who)
    lease.acquire()
    try:
        await _run_leased(store, plan, key, rows, policy, who)
    finally:
        lease.release()


async def _run_leased(store: Store, plan: Plan, key: tuple[str, str | None, str], rows: list[ReplayRow],
                      policy: Policy, who: str) -> None:
    request = plan.request
    journal = Journal(journal_mod.folder() / journal_mod.journal_name(*key), plan.summary.run_id)
    run = _Run(plan, {row.id: row for row in rows}, journal, _source(store, request, key, rows, policy, who),
               make_runtime(store, request, policy), who)
    try:
        await run.source.open(request.batch)
        await run.runtime.open()
        await _scan(run)
    except LeaseHeld:
        raise
    except Exception as exc:  # noqa: BLE001 (named in the summary; nothing unconfirmed was acked)
        from console.replay.runtime import redact_text

        cause = f"{type(exc).__name__}: {redact_text(str(exc))}"
        for dlq_id in run.rows.keys() - run.done:
            plan.summary.failed.append({"id": dlq_id, "cause": cause})
        run.done |= run.rows.keys()
    finally:
        await run.source.close()
        await run.runtime.close()
        journal.close()
    for dlq_id in run.rows.keys() - run.done:
        plan.summary.failed.append({"id": dlq_id, "cause": f"not found in queue {key[2]} "
                                                          f"(scan of {run.source.depth} messages)"})
    plan.records.extend(run.records)


async def _scan(run: _Run) -> None:
    request = run.plan.request
    canary_left = request.canary
    while True:
        wanted = run.rows.keys() - run.done
        size = min(request.batch, canary_left) if canary_left else request.batch
        taken = await run.source.batch(size, wanted)
        if not taken:
            return
        await _handle(run, taken)
        if canary_left:
            canary_left = max(canary_left - len(taken), 0)
            if canary_left == 0 and not await _canary_ok(run):
                _stop_rest(run)
                return


def _classify(run: _Run, taken: list[Taken]) -> tuple[list[Prepared], list[Taken], list[Taken], list[Taken]]:
    """(to send, ack only, to hold, the takens behind the sends) for one batch."""
    request = run.plan.request
    sends: list[Prepared] = []
    send_taken: list[Taken] = []
    ack_only: list[Taken] = []
    hold: list[Taken] = []
    for item in taken:
        row = run.rows.get(item.dlq_id)
        if row is None or item.dlq_id in run.done:
            hold.append(item)
            continue
        entry = run.journal.state(item.dlq_id)
        died_again = entry is not None and item.headers.get(REPLAY_ID) == entry.replay_id
        if entry is not None and entry.state in (CONFIRMED, ACKED) and not request.force:
            if died_again:
                # our own replayed copy died again within the same second (same stable id): it is a
                # new dead letter, never a leftover to acknowledge
                run.done.add(item.dlq_id)
                run.summary.skipped.append({"id": item.dlq_id, "cause": (
                    "this is the replayed copy, dead again; collect it again or use --force")})
                hold.append(item)
                continue
            ack_only.append(item)
            continue
        refusal = _refuse(item, row, request)
        if refusal:
            run.done.add(item.dlq_id)
            run.summary.skipped.append({"id": item.dlq_id, "cause": refusal})
            hold.append(item)
            continue
        sends.append(_prepare(run, item, row, entry))
        send_taken.append(item)
    return sends, ack_only, hold, send_taken


def _refuse(item: Taken, row: ReplayRow, request: Request) -> str | None:
    if item.replay_count >= request.max_replays and not request.force:
        return (f"poison: already replayed {item.replay_count} times (max {request.max_replays}); "
                "use --force or --max-replays")
    if row.body_sha256 and item.body_sha256 != row.body_sha256 and not request.force:
        return "the live message's body differs from the stored copy (SHA-256); not sent"
    return None


def _prepare(run: _Run, item: Taken, row: ReplayRow, entry: Any) -> Prepared:
    request = run.plan.request
    generation = run.journal.generations.get(item.dlq_id, 0)
    if entry is not None and entry.state in IN_FLIGHT:
        rid = entry.replay_id  # the same key: the target may already have it
        run.summary.possibly_duplicated.append(item.dlq_id)
    else:
        if entry is not None and entry.state in (CONFIRMED, ACKED):
            generation += 1  # a forced re-send is a new replay with a new key
        rid = replay_id(item.dlq_id, item.replay_count + 1, generation)
    run.journal.generations[item.dlq_id] = generation
    item.order_id = item.order_id or row.order_id
    return prepare(item, destination_for(row, request), rid, run.who, body=request.body,
                   new_message_id=request.new_message_id)


async def _handle(run: _Run, taken: list[Taken]) -> None:
    sends, ack_only, hold, send_taken = _classify(run, taken)
    run.source.hold(hold)
    if ack_only:
        await run.source.ack(ack_only)
        run.journal.write(ACKED, [(t.dlq_id, run.journal.state(t.dlq_id).replay_id) for t in ack_only],
                          sync=False)
        for item in ack_only:
            run.done.add(item.dlq_id)
            run.summary.moved.append(item.dlq_id)
    if not sends:
        return
    pairs = [(p.outbound.dlq_id, p.outbound.replay_id) for p in sends]
    run.journal.write(INTENT, pairs)
    await _throttle(run, len(sends))
    results = await run.runtime.send([p.outbound for p in sends])
    await _settle(run, sends, send_taken, results)


async def _settle(run: _Run, sends: list[Prepared], taken: list[Taken], results: list[Any]) -> None:
    confirmed = [(p, t) for p, t, r in zip(sends, taken, results) if r.outcome == Outcome.CONFIRMED]
    run.journal.write(CONFIRMED, [(p.outbound.dlq_id, p.outbound.replay_id) for p, _ in confirmed])
    fault("confirmed")
    for prepared, item, result in zip(sends, taken, results):
        run.done.add(item.dlq_id)
        if result.after_unknown:
            run.summary.possibly_duplicated.append(item.dlq_id)
        if result.outcome != Outcome.CONFIRMED:
            state = REFUSED if result.outcome == Outcome.REFUSED else UNKNOWN
            run.journal.write(state, [(item.dlq_id, prepared.outbound.replay_id)], sync=False)
            run.summary.failed.append({"id": item.dlq_id, "cause": result.cause or str(result.outcome)})
            if result.outcome == Outcome.UNKNOWN:
                run.summary.possibly_duplicated.append(item.dlq_id)
            run.source.hold([item])
        run.records.append(_record_of(run, prepared, result))
    try:
        await run.source.ack([t for _, t in confirmed])
    except Exception as exc:  # noqa: BLE001 (the journal says confirmed: resume acks without resending)
        for prepared, _ in confirmed:
            run.summary.failed.append({"id": prepared.outbound.dlq_id, "cause": (
                f"confirmed by the target but acknowledging the source failed ({type(exc).__name__}); "
                "a re-run acknowledges it without resending")})
        return
    run.journal.write(ACKED, [(p.outbound.dlq_id, p.outbound.replay_id) for p, _ in confirmed], sync=False)
    run.summary.moved.extend(p.outbound.dlq_id for p, _ in confirmed)
    run.sent += len(confirmed)


def _record_of(run: _Run, prepared: Prepared, result: Any) -> ReplayRecord:
    outcome = "acknowledged" if result.outcome == Outcome.CONFIRMED else str(result.outcome)
    return ReplayRecord(replay_id=prepared.outbound.replay_id, run_id=run.summary.run_id,
                        dlq_id=prepared.outbound.dlq_id, action=run.plan.request.action,
                        target=prepared.outbound.destination.describe(), outcome=outcome,
                        cause=result.cause, replay_count=prepared.attempt, trace_id=prepared.trace_id,
                        span_id=prepared.span_id)


async def _throttle(run: _Run, count: int) -> None:
    """At most `rate` messages a second: a gentle default, `--rate 0` for no limit."""
    rate = run.plan.request.rate
    if rate <= 0:
        return
    due = run.last_send + count / rate
    now = time.monotonic()
    if due > now and run.last_send:
        await asyncio.sleep(due - now)
    run.last_send = max(now, due)


async def _canary_ok(run: _Run) -> bool:
    from console.replay.canary import watch

    verdict = await watch(run)
    if verdict is not None:
        run.summary.stopped = verdict
        return False
    return True


def _stop_rest(run: _Run) -> None:
    for dlq_id in sorted(run.rows.keys() - run.done):
        run.summary.skipped.append({"id": dlq_id, "cause": f"not sent: {run.summary.stopped}"})
        run.done.add(dlq_id)


def _record(store: Store, plan: Plan) -> None:
    """The replays rows, status changes and one audit row, in one unit of work."""
    summary, request = plan.summary, plan.request
    records = plan.records
    status = "discarded" if request.action == "discard" else PAST.get(request.action, "replayed")
    if request.action in ("replay", "edit"):
        status = "replayed"
    moved = [dlq_id for dlq_id in summary.moved if dlq_id in plan.rows]
    trace = next((r.trace_id for r in records if r.trace_id), None)
    detail = {**request.detail, "counts": summary.to_json()["counts"], "moved": len(summary.moved),
              "skipped": summary.skipped[:200], "failed": summary.failed[:200],
              "possibly_duplicated": summary.possibly_duplicated, "stopped": summary.stopped,
              "verdicts": [v.to_json() for v in summary.verdicts[:200]] if request.dry_run else None}
    outcome = "dry run" if request.dry_run else ("ok" if summary.exit_code == 0 else "partial"
                                                  if summary.moved else "failed")
    with store.writing() as cursor:
        replays.record(cursor, records)
        replays.mark(cursor, moved, status, request.reason)
        audit.record(cursor, request.action, sorted(plan.rows) or list(request.keys), summary.target,
                     request.dry_run, outcome, detail, trace)
