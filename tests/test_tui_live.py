"""Live refresh picks up what collectors add, never stacks refreshes; a busy or missing store is one line."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import LoadingIndicator

import console.workers
from console.app import create_app
from console.messages import AuditLoaded, GroupsLoaded, OverviewLoaded, QueryFailed
from console.screens import base
from console.screenshots import NOW, settle
from console.widgets.loading import CalmLoading
from console.widgets.table import RowsTable
from queries import Store, audit
from queries.ingest import Table
from tests.estate import add_rows, dead_letter
from tests.test_tui_helpers import MessageLog, private_copy


async def test_live_refresh_shows_new_dead_letters_without_stacking(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "live")
    log = MessageLog()
    app = create_app(db, screen="dlq", now=NOW, live=0.2)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        first = await log.wait_for(GroupsLoaded)
        assert "fresh-group" not in {group.group for group in first.groups}
        mark = log.mark()
        add_rows(Store.at(db), Table.DLQ_MESSAGES, [dead_letter(
            "live-1", "erp.orders.dlq", "ORD-00000001", fingerprint="fresh-group",
            last_death_at=NOW - timedelta(minutes=1), error_text="arrived while watching")])
        await log.wait_for(GroupsLoaded, lambda m: "fresh-group" in {g.group for g in m.groups}, after=mark)
        await settle(pilot)
        assert "fresh-group" in {row.key for row in app.screen.query_one("#groups", RowsTable)._rows}
        running = [w for w in app.workers if w.group == "query" and w.is_running]
        assert len(running) <= 1
        refreshes = sum(isinstance(m, GroupsLoaded) for m in log.seen)
        assert refreshes >= 2


async def test_a_slow_screen_is_asked_again_no_sooner_than_four_times_its_query(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query that held the store for seconds (the overview on a large store) is not asked again
    after the 0.2 s live interval but after four times as long: the collectors sharing the store
    get it most of the time. The clock the console times its queries with is a fake: each reading
    is 3 s after the one before, so every query held the store 3 s or more."""
    db = private_copy(tmp_path_factory, "backoff")
    ticks = itertools.count()
    monkeypatch.setattr(console.workers, "_clock", lambda: 3.0 * next(ticks))
    log = MessageLog()
    app = create_app(db, screen="dlq", now=NOW, live=0.2)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        loaded = await log.wait_for(GroupsLoaded)
        await settle(pilot)
        assert loaded.seconds >= 3.0
        assert app.screen.live_interval == 4 * loaded.seconds  # type: ignore[attr-defined]
        monkeypatch.setattr(console.workers, "_clock", lambda: 0.0)  # a quick query from now on
        mark = log.mark()
        await pilot.press("ctrl+r")
        again = await log.wait_for(GroupsLoaded, after=mark)
        await settle(pilot)
        assert again.seconds == 0.0 and app.screen.live_interval == 0.2  # type: ignore[attr-defined]


async def test_a_screen_left_while_asking_drops_its_query_and_asks_again_when_back(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    db = private_copy(tmp_path_factory, "left")
    asking, release, calls = threading.Event(), threading.Event(), []
    real = audit.trail

    def slow_trail(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        asking.set()
        if len(calls) == 1:
            release.wait(60)  # the first question is slow (a big store), without sleeping
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "trail", slow_trail)
    log = MessageLog()
    app = create_app(db, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        try:
            await settle(pilot)
            await pilot.press("6")
            assert await asyncio.to_thread(asking.wait, 20)  # its worker is in the query
            left = app.screen
            assert app.current_mode == "audit" and left.is_loading
            await pilot.press("1")  # away while it is still asking
            await pilot.pause()
            assert app.current_mode == "overview" and not left.is_loading
        finally:
            release.set()
        await app.workers.wait_for_complete()
        mark = log.mark()
        await pilot.press("6")
        loaded = await log.wait_for(AuditLoaded, after=mark)
        await settle(pilot)
        assert app.screen is left and not left.is_loading and left.last is loaded
        assert len(calls) == 2  # asked again when back
        assert sum(isinstance(m, AuditLoaded) for m in log.seen) == 2  # once by the screen, once the app


async def test_live_refresh_can_be_paused(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "paused")
    log = MessageLog()
    app = create_app(db, screen="dlq", now=NOW, live=0.05)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(GroupsLoaded)
        await pilot.press("L")
        await settle(pilot)
        assert not app.live and "paused" in str(app.screen.query_one("TitleBar").render())
        mark = log.mark()
        await pilot.press("ctrl+r")  # a manual refresh still works
        await log.wait_for(GroupsLoaded, after=mark)


async def test_a_missing_store_is_a_one_line_notice(tmp_path: Path) -> None:
    log = MessageLog()
    app = create_app(tmp_path / "absent.duckdb", now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        failed = await log.wait_for(QueryFailed)
        await settle(pilot)
        notice = str(app.screen.query_one("#notice").render())
        assert "no store at" in failed.reason and "no store at" in notice and "\n" not in notice
        assert app.is_running


@pytest.fixture
def held_store(tmp_path: Path) -> Iterator[Path]:
    """A store that another process holds open (as a writer holding the lock would)."""
    db = tmp_path / "busy.duckdb"
    with Store.at(db).writing():
        pass
    script = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.readline()"
    holder = subprocess.Popen([sys.executable, "-c", script, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        Store.at(db).lock_timeout = 0.2
        yield db
    finally:
        holder.communicate("\n", timeout=10)


async def test_a_busy_store_is_a_one_line_notice(held_store: Path) -> None:
    log = MessageLog()
    app = create_app(held_store, screen="dlq", now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        failed = await log.wait_for(QueryFailed)
        await settle(pilot)
        assert "is busy" in failed.reason and "holds it" in failed.reason
        assert "is busy" in str(app.screen.query_one("#notice").render())


@pytest.mark.parametrize("screen", ["overview", "inventory"])
async def test_a_busy_store_does_not_pass_for_an_empty_one(held_store: Path, screen: str) -> None:
    # Seen at a console opened during an ingest: every tile said "no data in this window".
    log = MessageLog()
    app = create_app(held_store, screen=screen, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(QueryFailed)
        await settle(pilot)
        drawn = [str(widget.render()) for widget in app.screen.query("KpiTile, Chart")]
        assert drawn and not any("no data" in text for text in drawn), drawn


async def test_a_recorded_action_appears_in_the_audit_trail(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "audit")
    log = MessageLog()
    app = create_app(db, screen="audit", now=NOW, live=0.05)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        first = await log.wait_for(AuditLoaded)
        assert first.actions == []
        mark = log.mark()
        with Store.at(db).writing() as cursor:
            audit.record(cursor, "replay", ["m-1", "m-2"], "erp.orders", dry_run=True, outcome="ok",
                         who="dana@ops")
        await log.wait_for(AuditLoaded, lambda m: len(m.actions) == 1, after=mark)
        await settle(pilot)
        table = app.screen.query_one("#actions", RowsTable)
        cells = [cell.plain for cell in table._rows[0].cells]
        assert cells[1:7] == ["dana@ops", "replay", "2", "erp.orders", "yes", "ok"]
        assert "1–1 of 1 actions" in str(app.screen.query_one("#status").render())


async def test_a_slow_query_shows_a_spinner_and_a_superseded_answer_is_dropped(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from queries import kpis

    db = private_copy(tmp_path_factory, "slow")
    real, gates = kpis.overview, [threading.Event(), threading.Event()]
    calls: list[int] = []

    def slow_overview(cursor: object, *args: object, **kwargs: object) -> object:
        gate = gates[len(calls)]
        calls.append(len(calls))
        assert gate.wait(20)
        return real(cursor, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(base, "LOADING_AFTER", 0.01)
    monkeypatch.setattr(kpis, "overview", slow_overview)
    log = MessageLog()
    app = create_app(db, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        mounted = await log.wait_for(events.Mount, lambda m: isinstance(m._sender, LoadingIndicator))
        await pilot.pause()
        # the calm spinner: 4 redraws a second (Textual's repaints the whole body 16 times)
        assert isinstance(mounted._sender, CalmLoading) and mounted._sender.auto_refresh == 0.25
        screen = app.screen
        assert screen.is_loading and screen.busy_target().loading  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")  # ask again while the first is still running
        gates[1].set()
        second = await log.wait_for(OverviewLoaded)
        gates[0].set()
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert not screen.busy_target().loading  # type: ignore[attr-defined]
        assert screen.last is second  # type: ignore[attr-defined]
        answers = {id(m) for m in log.seen if isinstance(m, OverviewLoaded)}
        assert answers == {id(second)} and len(calls) == 2  # the first answer was dropped

