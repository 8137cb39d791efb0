"""Replay orchestration: lease, bounded scan, journal, confirmed send, ack, and the audit row.

Per batch: journal `intent` (fsync) -> send -> journal `confirmed` (fsync) -> ack the source ->
the broker's answer on that channel -> journal `acked`. A message is acknowledged (or marked
replayed) only after its runtime confirmed it, and counted as moved only once the broker surely has
the ack. One batch at most is in flight; a link that breaks or stalls stops the run, and the
summary says for how many messages the outcome is unknown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from console.replay import journal as journal_mod
from console.replay.amqp import AmqpRuntime, LinkLost, fault
from console.replay.classify import classify
from console.replay.journal import ACKED, CONFIRMED, INTENT, REFUSED, UNKNOWN, Journal
from console.replay.lease import FileLease, LeaseHeld
from console.replay.message import Identity, Prepared, Taken
from console.replay.plan import PAST, Plan, Request, Summary, build
from console.replay.runtime import Outcome, Runtime, kind_of
from queries import Store, audit, replays
from queries.policy import Policy
from queries.replays import ReplayRecord, ReplayRow

Progress = Callable[[int, int], None]  # (messages settled so far, messages to send)
Reader = Callable[[], Awaitable[list[Taken]]]


@dataclass
class _Tally:
    """Progress across the run's source queues, for a face's progress bar."""

    callback: Progress | None
    total: int
    base: int = 0  # settled in queues already finished

    def report(self, settled_here: int = 0) -> None:
        if self.callback is None:
            return
        try:
            self.callback(min(self.base + settled_here, self.total), self.total)
        except Exception:  # noqa: BLE001 (a closing face must not break a replay half done)
            self.callback = None


@dataclass
class _Run:
    """State of one source queue's run."""

    plan: Plan
    rows: dict[str, ReplayRow]
    journal: Journal
    source: Any
    runtime: Runtime
    who: str
    tally: _Tally = field(default_factory=lambda: _Tally(None, 0))
    records: list[ReplayRecord] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    sent: int = 0
    last_send: float = 0.0
    unknown: int = 0  # sends whose outcome the runtime could not tell
    verifying: asyncio.Future[str | None] | None = None  # the last batch's acks, being checked
    link_lost: bool = False
    claimed: set[str] = field(default_factory=set)  # being sent in this run (a second copy is held)

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


def _journal_name(store: Store, request: Request, key: tuple[str, str | None, str]) -> str:
    """One journal per source queue; the copies a store holds are that store's, so its path counts
    (two demo stores share message ids, and one's replay must not look done in the other)."""
    if request.from_store or kind_of(request.runtime) == "sandbox":
        return journal_mod.journal_name(key[0], key[1], key[2], scope=str(store.path.resolve()))
    return journal_mod.journal_name(*key)


def _source(store: Store, request: Request, key: tuple[str, str | None, str], rows: list[ReplayRow],
            policy: Policy, who: str) -> Any:
    """Live from the broker, unless the runtime is the sandbox or the operator chose the store."""
    if request.from_store or kind_of(request.runtime) == "sandbox":
        from console.replay.sandbox import StoreSource

        return StoreSource(rows)
    from console.replay.amqp_source import AmqpSource

    return AmqpSource(request.source_url, key[1], key[2], Identity(policy, key[1], key[2]), who,
                      idle_timeout=request.idle_timeout, op_timeout=request.confirm_timeout)


async def execute(store: Store, request: Request, policy: Policy, progress: Progress | None = None) -> Summary:
    """Plan, then (unless a dry run) send queue by queue; always ends with an audit row.

    `progress(settled, total)` is called after every batch (from the event loop's thread).
    """
    plan = build(store, request, policy)
    if not request.dry_run:
        tally = _Tally(progress, sum(len(rows) for rows in plan.to_send.values()))
        tally.report()
        for key, rows in plan.to_send.items():
            await _run_queue(store, plan, key, rows, policy, tally)
            tally.base += len(rows)
            tally.report()
    _record(store, plan)
    return plan.summary


async def _run_queue(store: Store, plan: Plan, key: tuple[str, str | None, str], rows: list[ReplayRow],
                     policy: Policy, tally: _Tally) -> None:
    who = audit.operator()
    lease = FileLease(key[0], key[1], key[2], who)
    lease.acquire()
    try:
        await _run_leased(store, plan, key, rows, policy, who, tally)
    finally:
        lease.release()


async def _run_leased(store: Store, plan: Plan, key: tuple[str, str | None, str], rows: list[ReplayRow],
                      policy: Policy, who: str, tally: _Tally) -> None:
    request = plan.request
    journal = Journal(journal_mod.folder() / _journal_name(store, request, key), plan.summary.run_id)
    run = _Run(plan, {row.id: row for row in rows}, journal, _source(store, request, key, rows, policy, who),
               make_runtime(store, request, policy), who, tally)
    try:
        await run.source.open(request.batch)
        await run.runtime.open()
        await _scan(run)
    except LeaseHeld:
        raise
    except LinkLost as exc:
        await _verified(run)
        _stop_link(run, str(exc))
    except Exception as exc:  # noqa: BLE001 (named in the summary; nothing unconfirmed was acked)
        await _verified(run)
        from console.replay.runtime import redact_text

        cause = f"{type(exc).__name__}: {redact_text(str(exc))}"
        for dlq_id in run.rows.keys() - run.done:
            plan.summary.failed.append({"id": dlq_id, "cause": cause})
        run.done |= run.rows.keys()
    finally:
        # both bounded, side by side: over a stalled link each gives up after CLOSE_TIMEOUT
        await asyncio.gather(run.source.close(), run.runtime.close(), return_exceptions=True)
        journal.close()
    for dlq_id in run.rows.keys() - run.done:
        plan.summary.failed.append({"id": dlq_id, "cause": f"not found in queue {key[2]} "
                                                          f"(scan of {run.source.depth} messages)"})
    plan.records.extend(run.records)


async def _scan(run: _Run) -> None:
    """Batch by batch: at most one batch is ever in flight (published, not yet confirmed).

    The next batch is taken and read while the current one's `confirmed` record is being fsync'd
    (disk wait against CPU work); its intent is journalled and it is sent only afterwards.
    """
    request = run.plan.request
    canary_left, canary_pending = request.canary, request.canary > 0
    taken = await _take(run, canary_left)
    while taken:
        if canary_left:
            canary_left = max(canary_left - len(taken), 0)
        check_canary = canary_pending and canary_left == 0
        going_on, ahead = await _handle(run, taken, None if check_canary else _reader(run, canary_left))
        run.tally.report(len(run.done))
        if not going_on:
            run.source.hold(ahead)
            return
        if check_canary:
            canary_pending = False
            if not await _verified(run) or not await _canary_ok(run):
                _stop_rest(run)
                return
            ahead = await _take(run, canary_left)
        taken = ahead
    await _verified(run)


def _reader(run: _Run, canary_left: int) -> Reader:
    return lambda: _take(run, canary_left)


async def _take(run: _Run, canary_left: int) -> list[Taken]:
    request = run.plan.request
    size = min(request.batch, canary_left) if canary_left else request.batch
    return await run.source.batch(size, run.rows.keys() - run.done - run.claimed)  # type: ignore[no-any-return]


async def _handle(run: _Run, taken: list[Taken], read_ahead: Reader | None) -> tuple[bool, list[Taken]]:
    """Send one batch: (False when the run must stop, the next batch if `read_ahead` took it)."""
    sends, ack_only, hold, send_taken = classify(run, taken)
    run.source.hold(hold)
    if ack_only:
        await run.source.ack(ack_only)
        run.journal.write(ACKED, [(t.dlq_id, run.journal.replay_id(t.dlq_id)) for t in ack_only], sync=False)
        for item in ack_only:
            run.done.add(item.dlq_id)
            run.summary.moved.append(item.dlq_id)
    if not sends:
        return True, await read_ahead() if read_ahead else []
    pairs = [(p.outbound.dlq_id, p.outbound.replay_id) for p in sends]
    await run.journal.write_durably(INTENT, pairs)
    if not await _verified(run):  # the last batch's acks must have arrived before the next batch goes
        run.journal.write(REFUSED, pairs)  # never published: a re-run sends them as new
        run.source.hold(send_taken)
        return False, []
    await _throttle(run, len(sends))
    results = await run.runtime.send([p.outbound for p in sends])
    return await _settle(run, sends, send_taken, results, read_ahead)


async def _settle(run: _Run, sends: list[Prepared], taken: list[Taken], results: list[Any],
                  read_ahead: Reader | None) -> tuple[bool, list[Taken]]:
    """Journal what was confirmed, then acknowledge it; (False when the run must stop, the next batch).

    The broker's answer to the acknowledgement is awaited while the next batch's intent is
    journalled, before it is sent (`_verified`): a message counts as moved only once the broker
    has surely taken its ack, and a dead source link stops the run before another send.
    """
    confirmed = [(p, t) for p, t, r in zip(sends, taken, results) if r.outcome == Outcome.CONFIRMED]
    pairs = [(p.outbound.dlq_id, p.outbound.replay_id) for p, _ in confirmed]
    lost = next((r.cause for r in results if r.link_lost), None)
    run.journal.write(CONFIRMED, pairs, sync=False)
    durable = run.journal.syncing() if pairs else None
    ahead: list[Taken] = []
    problem: Exception | None = None
    try:
        if read_ahead is not None and lost is None:
            ahead = await read_ahead()
    except Exception as exc:  # noqa: BLE001 (raised once this batch is settled)
        problem = exc
    finally:
        if durable is not None:
            await durable
    fault("confirmed")
    records = {}
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
                run.unknown += 1
            run.source.hold([item])
        records[item.dlq_id] = _record_of(run, prepared, result)
    run.records.extend(records.values())
    try:
        await run.source.ack([t for _, t in confirmed], verify=False)
    except Exception as exc:  # noqa: BLE001 (the journal says confirmed: resume acks without resending)
        lost = _unacknowledged(run, pairs, records, exc) or lost
    else:
        if pairs:
            run.verifying = asyncio.ensure_future(_acknowledged(run, pairs, records))
    if problem is not None:
        raise problem
    if lost is not None:
        await _verified(run)
        _stop_link(run, lost)
        return False, ahead
    return True, ahead


async def _acknowledged(run: _Run, pairs: list[tuple[str, str]], records: dict[str, ReplayRecord]) -> str | None:
    """Wait for the broker to have taken the acks; None when it has, else why the run must stop."""
    try:
        await run.source.acked()
    except Exception as exc:  # noqa: BLE001
        return _unacknowledged(run, pairs, records, exc)
    run.journal.write(ACKED, pairs, sync=False)
    run.summary.moved.extend(dlq_id for dlq_id, _ in pairs)
    run.sent += len(pairs)
    return None


def _unacknowledged(run: _Run, pairs: list[tuple[str, str]], records: dict[str, ReplayRecord],
                    exc: BaseException) -> str | None:
    """Confirmed by the target, not surely removed from the source: named, and reported as in two places."""
    for dlq_id, _ in pairs:
        # the target has it and the DLQ may still have it: a copy in two places until a re-run
        run.summary.possibly_duplicated.append(dlq_id)
        run.summary.failed.append({"id": dlq_id, "cause": (
            f"confirmed by the target but acknowledging the source failed ({type(exc).__name__}); "
            "a re-run acknowledges it without resending")})
        records[dlq_id].outcome = "confirmed"  # not acknowledged: a re-run may finish it
    return str(exc) if isinstance(exc, LinkLost) else None


async def _verified(run: _Run) -> bool:
    """The last batch's acks, checked; False when that check found the link lost (the run stops)."""
    verifying, run.verifying = run.verifying, None
    if verifying is None:
        return True
    lost = await verifying
    if lost is not None:
        _stop_link(run, lost)
        return False
    return True


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


def _stop_link(run: _Run, cause: str) -> None:
    """A broken or stalled link ends the run: one line says what cannot be known, the rest is not sent."""
    if run.link_lost:
        return  # the first cause is the one that counts
    run.link_lost = True
    left = sorted(run.rows.keys() - run.done)
    run.summary.stopped = (f"link to the broker lost mid-replay ({cause.removeprefix('outcome unknown: ')}): "
                           f"outcome unknown for {run.unknown} message{'' if run.unknown == 1 else 's'}; "
                           f"stopped, {len(left)} not sent")
    for dlq_id in left:
        run.summary.failed.append({"id": dlq_id, "cause": "not sent: the link to the broker was lost"})
        run.done.add(dlq_id)


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
