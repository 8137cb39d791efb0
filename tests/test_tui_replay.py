"""Replay from the console: R opens a dry run in a modal; confirming sends (into `sandbox:` for the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.app import BackroomApp, create_app
from console.messages import DeadLettersLoaded, GroupsLoaded
from console.screens.dlq import FailureGroupsScreen
from console.screens.dlq_messages import DeadLettersScreen
from console.screens.replay_modal import ReplayFinished, ReplayModal, ReplayPlanned
from console.screenshots import NOW, settle
from console.widgets.table import RowsTable
from queries import Store, audit, dlq
from tests.test_tui_helpers import MessageLog, private_copy, shared_estate


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
        mark = log.mark()
        await pilot.click("#replay-go")
        finished = await log.wait_for(ReplayFinished, after=mark, timeout=60)
        await settle(pilot)
        assert finished.summary is not None and finished.reason is None
        assert len(finished.summary.moved) == planned.to_send and finished.summary.failed == []
        assert isinstance(app.screen, DeadLettersScreen)
        assert any("moved" in str(toast.message) for toast in app._notifications)
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
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, DeadLettersScreen)
        assert not any(isinstance(message, ReplayPlanned) for message in log.seen)
