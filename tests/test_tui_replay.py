"""Replay and reroute from the console: R (or M, after naming a target) opens a dry run; confirming sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, ProgressBar, Static

from console.app import BackroomApp, create_app
from console.messages import DeadLettersLoaded, GroupsLoaded, JourneyLoaded
from console.replay import journal
from console.replay.runtime import Destination
from console.screens.dlq import FailureGroupsScreen
from console.screens.dlq_messages import DeadLettersScreen
from console.screens.journey import JourneyScreen
from console.screens.replay_modal import ReplayFinished, ReplayModal, ReplayPlanned
from console.screens.reroute_modal import RerouteTarget
from console.screenshots import NOW, settle
from console.widgets.table import RowsTable
from queries import Store, audit, dlq
from tests.test_tui_helpers import MessageLog, private_copy, shared_estate


@pytest.fixture(autouse=True)
def _own_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal per test: it remembers what was confirmed by dead-letter id, and every copy of the
    seeded estate has the same ids, so a shared one would make a later test's run resume this one's."""
    monkeypatch.setattr(journal, "folder", lambda: tmp_path / "journal")


def _timeout_group(db: Path) -> str:
    """The demo's ERP-outage group: erp.orders messages that died of a timeout."""
    with Store.at(db).reading() as cursor:
        return cursor.execute(
            "SELECT fingerprint FROM dlq_messages WHERE error_text LIKE 'Timeout after%' "
            "AND original_queue = 'erp.orders' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchone()[0]


def _statuses(db: Path, group: str) -> dict[str, int]:
    with Store.at(db).reading() as cursor:
        return {status: dlq.page(cursor, statuses=[status], group=group, limit=0).total
                for status in ("dead", "replayed")}


def watch_progress(modal: Any) -> list[tuple[int, int]]:
    """Every (settled, total) the engine reported to the modal's progress bar, in order."""
    steps: list[tuple[int, int]] = []
    advance = modal._advance

    def recorded(settled: int, total: int) -> None:
        steps.append((settled, total))
        advance(settled, total)
    modal._advance = recorded
    return steps


def _modal_text(app: BackroomApp) -> str:
    return "\n".join(str(widget.render()) for widget in app.screen.query("#replay Static"))


async def _open_group(app: BackroomApp, pilot: Any, log: MessageLog, group: str) -> None:
    await log.wait_for(GroupsLoaded)
    await settle(pilot)
    table = app.screen.query_one("#groups", RowsTable)
    table.move_cursor(row=table.get_row_index(group))
    mark = log.mark()
    await pilot.press("enter")
    await log.wait_for(DeadLettersLoaded, after=mark)
    await settle(pilot)
    assert isinstance(app.screen, DeadLettersScreen) and app.screen.group == group


async def _press_replay(app: BackroomApp, pilot: Any, log: MessageLog) -> ReplayPlanned:
    mark = log.mark()
    await pilot.press("R")
    planned = await log.wait_for(ReplayPlanned, after=mark)
    await settle(pilot)
    assert isinstance(app.screen, ReplayModal)
    return planned  # type: ignore[no-any-return]


async def test_oncall_replays_the_erp_timeout_group_into_the_sandbox(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "replay-group")
    group = _timeout_group(db)
    before = _statuses(db, group)
    log = MessageLog()
    app = create_app(db, screen="dlq", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_group(app, pilot, log, group)
        planned = await _press_replay(app, pilot, log)
        summary = planned.summary
        assert summary is not None and planned.request is not None and planned.reason is None
        assert planned.request.runtime == "sandbox:" and planned.request.dry_run
        assert len(summary.verdicts) == before["dead"] and planned.to_send > 0
        text = _modal_text(app)
        assert f"Replay {before['dead']} messages of group {group}" in text and "dry run" in text
        assert "erp.orders.dlq on rabbitmq" in text and "sandbox:" in text
        for name, count in summary.to_json()["counts"].items():
            assert f"{name} {count}" in text
        needing = before["dead"] - planned.to_send
        assert f"{planned.to_send} safe now; {needing} need --force" in text
        assert app.screen.query_one("#replay-force").display is (needing > 0)
        button = app.screen.query_one("#replay-go")
        assert str(button.label) == f"Replay {planned.to_send} safe"  # type: ignore[attr-defined]
        steps = watch_progress(app.screen)
        bar = app.screen.query_one("#replay-progress", ProgressBar)
        mark = log.mark()
        await pilot.click("#replay-go")
        finished = await log.wait_for(ReplayFinished, after=mark, timeout=60)
        await settle(pilot)
        assert finished.summary is not None and finished.reason is None
        assert len(finished.summary.moved) == planned.to_send and finished.summary.failed == []
        # the bar counted from 0 to the total, batch by batch, on the UI thread
        assert steps[0] == (0, planned.to_send) and steps[-1] == (planned.to_send, planned.to_send)
        assert [done for done, _ in steps] == sorted(done for done, _ in steps)
        assert bar.total == planned.to_send and bar.progress == planned.to_send
        assert isinstance(app.screen, DeadLettersScreen)
        assert any(str(toast.message) == f"replay -> {summary.target}: moved {planned.to_send}, skipped 0, "
                   "failed 0" for toast in app._notifications)
    after = _statuses(db, group)
    assert after["replayed"] == before["replayed"] + planned.to_send
    assert after["dead"] == before["dead"] - planned.to_send
    with Store.at(db).reading() as cursor:
        trail = audit.trail(cursor, action="replay")
    assert [(row.dry_run, row.target) for row in trail] == [(False, summary.target)]
    assert sorted(trail[0].message_ids) == sorted(v.id for v in summary.verdicts)


async def test_cancel_changes_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "replay-cancel")
    group = _timeout_group(db)
    before = _statuses(db, group)
    log = MessageLog()
    app = create_app(db, screen="dlq", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#groups", RowsTable)
        table.move_cursor(row=table.get_row_index(group))
        await _press_replay(app, pilot, log)  # R on the groups screen replays the highlighted group
        await pilot.click("#replay-cancel")
        await settle(pilot)
        assert isinstance(app.screen, FailureGroupsScreen)
        await _press_replay(app, pilot, log)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FailureGroupsScreen)
    assert _statuses(db, group) == before
    with Store.at(db).reading() as cursor:
        assert audit.trail(cursor) == []


async def test_support_has_no_replay(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = shared_estate(tmp_path_factory)
    group = _timeout_group(db)
    log = MessageLog()
    app = create_app(db, screen="dlq", role="support", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_group(app, pilot, log, group)
        shown = {active.binding.action for active in app.screen.active_bindings.values() if active.binding.show}
        assert "replay" not in shown and app.screen.check_action("replay", ()) is False
        assert "reroute" not in shown and app.screen.check_action("reroute", ()) is False
        for key in ("R", "M"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, DeadLettersScreen)
        assert not any(isinstance(message, ReplayPlanned) for message in log.seen)


def _reroutes(db: Path, group: str) -> int:
    with Store.at(db).reading() as cursor:
        return dlq.page(cursor, statuses=["rerouted"], group=group, limit=0).total


async def _name_target(app: BackroomApp, pilot: Any, text: str) -> str:
    """Type a reroute target; the line under it (the parsed destination or why it is refused)."""
    app.screen.query_one("#reroute-to", Input).value = text
    await settle(pilot)
    return str(app.screen.query_one("#reroute-check", Static).render())


async def test_oncall_reroutes_a_group_to_a_validated_target(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "reroute-group")
    group = _timeout_group(db)
    before = _statuses(db, group)
    log = MessageLog()
    app = create_app(db, screen="dlq", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_group(app, pilot, log, group)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, RerouteTarget)
        for bad in ("nokey", "http:///no-host", "queue:"):
            assert "expected EXCHANGE/KEY" in await _name_target(app, pilot, bad)
            assert app.screen.query_one("#reroute-go", Button).disabled
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, RerouteTarget)  # an invalid target goes nowhere
        check = await _name_target(app, pilot, "queue:erp.orders.parked")
        assert "exchange (default) key erp.orders.parked" in check
        mark = log.mark()
        await pilot.press("enter")
        planned = await log.wait_for(ReplayPlanned, after=mark)
        await settle(pilot)
        assert isinstance(app.screen, ReplayModal) and planned.request is not None
        assert planned.request.action == "reroute" and planned.request.runtime == "sandbox:"
        assert planned.request.to == Destination("", "erp.orders.parked")
        text = _modal_text(app)
        assert f"Reroute {before['dead']} messages of group {group}" in text
        assert "exchange (default) key erp.orders.parked" in text and planned.to_send > 0
        button = app.screen.query_one("#replay-go", Button)
        assert str(button.label) == f"Reroute {planned.to_send} safe"
        steps = watch_progress(app.screen)
        mark = log.mark()
        await pilot.click("#replay-go")
        finished = await log.wait_for(ReplayFinished, after=mark, timeout=60)
        await settle(pilot)
        summary = finished.summary
        assert summary is not None and summary.action == "reroute" and summary.failed == []
        assert len(summary.moved) == planned.to_send and steps[-1] == (planned.to_send, planned.to_send)
        assert isinstance(app.screen, DeadLettersScreen)
        assert any(str(toast.message).startswith("reroute -> exchange (default) key erp.orders.parked: moved")
                   for toast in app._notifications)
    assert _reroutes(db, group) == planned.to_send
    with Store.at(db).reading() as cursor:
        trail = audit.trail(cursor)
    assert [(row.action, row.dry_run, row.target) for row in trail] == [
        ("reroute", False, "exchange (default) key erp.orders.parked")]


async def test_cancelling_the_reroute_target_changes_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "reroute-cancel")
    group = _timeout_group(db)
    log = MessageLog()
    app = create_app(db, screen="dlq", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_group(app, pilot, log, group)
        await pilot.press("M")
        await settle(pilot)
        await _name_target(app, pilot, "orders/erp.orders")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DeadLettersScreen)
        await pilot.press("M")
        await settle(pilot)
        await pilot.click("#reroute-cancel")
        await settle(pilot)
        assert isinstance(app.screen, DeadLettersScreen)
    assert not any(isinstance(message, ReplayPlanned) for message in log.seen)
    with Store.at(db).reading() as cursor:
        assert audit.trail(cursor) == []


def _order_with_dead_letters(db: Path) -> tuple[str, list[str]]:
    with Store.at(db).reading() as cursor:
        order, ids = cursor.execute(
            "SELECT order_id, list(id ORDER BY id) FROM dlq_messages WHERE status = 'dead' AND order_id IS NOT NULL "
            "GROUP BY ALL ORDER BY count(*) DESC, order_id LIMIT 1").fetchone()
    return order, ids


async def test_the_journey_replays_and_reroutes_its_dead_letters(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "journey-actions")
    order, ids = _order_with_dead_letters(db)
    log = MessageLog()
    app = create_app(db, search=order, role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(JourneyLoaded, lambda message: message.journey is not None)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen)
        shown = {active.binding.action for active in app.screen.active_bindings.values() if active.binding.show}
        assert {"replay", "reroute"} <= shown
        planned = await _press_replay(app, pilot, log)
        assert planned.request is not None and sorted(planned.request.keys) == sorted(ids)
        assert f"of the {len(ids)} dead letter" in _modal_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, RerouteTarget)
        await _name_target(app, pilot, "orders/erp.orders.retry")
        mark = log.mark()
        await pilot.press("enter")
        rerouting = await log.wait_for(ReplayPlanned, after=mark)
        assert rerouting.request.action == "reroute" and sorted(rerouting.request.keys) == sorted(ids)
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen)
    with Store.at(db).reading() as cursor:
        assert audit.trail(cursor) == []
