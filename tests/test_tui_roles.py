"""Roles: support sees masked personal data and no action that changes anything; cards are masked for all."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.app import create_app
from console.messages import DeadLetterLoaded, JourneyLoaded
from console.screens.discard_modal import DiscardPlanned
from console.screens.dlq_message import DeadLetterScreen
from console.screens.replay_modal import ReplayPlanned
from console.screens.reroute_modal import RerouteTarget
from console.screenshots import NOW, settle
from queries import Store, audit
from tests.test_tui_helpers import (
    CARD,
    MessageLog,
    add_hostile_dead_letter,
    demo_dead_letter,
    private_copy,
    shared_estate,
)


@pytest.fixture(scope="module")
def email(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The customer's email of #1129, the journey these tests open, as the store holds it."""
    with Store.at(shared_estate(tmp_path_factory)).reading() as cursor:
        row = cursor.execute("SELECT customer_email FROM orders WHERE order_name = '#1129'").fetchone()
    assert row is not None and "@" in row[0]
    return str(row[0])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = private_copy(tmp_path_factory, "roles")
    add_hostile_dead_letter(db)
    return db


def _screen_text(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    # Statics, and the lines chosen by width (Fitting, Facts: their common base ByWidth)
    return "\n".join(str(widget.render()) for widget in screen.query("Static, ByWidth"))


def _footer_keys(app: object) -> dict[str, bool]:
    """Action -> enabled, for the bindings the footer shows on the current screen."""
    bindings = app.screen.active_bindings  # type: ignore[attr-defined]
    return {active.binding.action: active.enabled for active in bindings.values() if active.binding.show}


@pytest.mark.parametrize("role", ["oncall", "support"])
async def test_emails_are_masked_by_default_for_every_role(
        tmp_path_factory: pytest.TempPathFactory, role: str, email: str) -> None:
    log = MessageLog()
    app = create_app(shared_estate(tmp_path_factory), search="#1129", role=role, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(JourneyLoaded)
        await settle(pilot)
        # the first letter and the domain, as a support agent confirms a caller's address
        masked = f"{email[0]}***@{email.split('@')[1]}"
        assert masked in str(app.screen.query_one("#heading").render())
        assert email not in _screen_text(app)


async def test_oncall_unmasks_explicitly_and_it_is_audited(
        tmp_path_factory: pytest.TempPathFactory, email: str) -> None:
    db = private_copy(tmp_path_factory, "unmask")
    log = MessageLog()
    app = create_app(db, search="#1129", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(JourneyLoaded)
        await settle(pilot)
        mark = log.mark()
        await pilot.press("U")
        await log.wait_for(JourneyLoaded, after=mark)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert email in str(app.screen.query_one("#heading").render())
    with Store.at(db).reading() as cursor:
        assert [(a.action, a.outcome) for a in audit.trail(cursor)] == [("unmask", "personal data shown")]


async def test_support_cannot_unmask(tmp_path_factory: pytest.TempPathFactory, email: str) -> None:
    log = MessageLog()
    app = create_app(shared_estate(tmp_path_factory), search="#1129", role="support", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(JourneyLoaded)
        await pilot.press("U")
        await settle(pilot)
        assert email not in _screen_text(app)


async def test_support_sees_no_actions_and_masked_payloads(hostile: Path) -> None:
    log = MessageLog()
    app = create_app(hostile, message="hostile-1", role="support", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(DeadLetterLoaded)
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen)
        keys = _footer_keys(app)
        assert "replay" not in keys and "reroute" not in keys
        assert app.screen.check_action("replay", ()) is False
        text = _screen_text(app)
        assert "not in this build" not in text
        assert CARD not in text and "**** **** **** 1111" in text


async def test_oncall_sees_replay_and_reroute_and_cards_masked(hostile: Path) -> None:
    log = MessageLog()
    app = create_app(hostile, message="hostile-1", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(DeadLetterLoaded)
        await settle(pilot)
        keys = _footer_keys(app)
        assert keys.get("replay") is True and keys.get("reroute") is True
        text = _screen_text(app)
        assert "R replays this message, M reroutes it elsewhere" in text
        assert CARD not in text and "**** **** **** 1111" in text
        await pilot.press("M")  # asks where to first; nothing is sent from here
        await settle(pilot)
        assert isinstance(app.screen, RerouteTarget)


async def test_the_policy_role_applies_when_no_role_is_given(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    policy_file = tmp_path / "backroom.toml"
    policy_file.write_text('[console]\nrole = "support"\n')
    monkeypatch.setenv("BACKROOM_CONFIG", str(policy_file))
    app = create_app(shared_estate(tmp_path_factory), now=NOW, live=None)
    assert app.context.role == "support" and app.redactor.masks_personal


async def test_support_sees_neither_edit_nor_discard(tmp_path_factory: pytest.TempPathFactory) -> None:
    schema_failure = demo_dead_letter(tmp_path_factory, "schema")
    db = shared_estate(tmp_path_factory)
    log = MessageLog()
    app = create_app(db, message=schema_failure, role="support", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(DeadLetterLoaded)
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen)
        for screen in (app.screen, app.screen_stack[0]):  # one message, and the groups under it
            assert not {"edit", "discard"} & {a.binding.action for a in screen.active_bindings.values()
                                              if a.binding.show}
            assert screen.check_action("edit", ()) is False and screen.check_action("discard", ()) is False
        for key in ("E", "D"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, DeadLetterScreen)
    assert not any(isinstance(message, (DiscardPlanned, ReplayPlanned)) for message in log.seen)
