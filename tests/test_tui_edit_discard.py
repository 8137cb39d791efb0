"""Edit-and-retry (E) and discard (D) from the console: checked, confirmed, audited (support, who
sees neither, in test_tui_roles.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from textual.widgets import Button, Checkbox, Input, Static, TextArea

from console.app import BackroomApp, create_app
from console.messages import DeadLetterLoaded, DeadLettersLoaded, GroupsLoaded
from console.replay import journal
from console.replay.message import ORIGINAL_MESSAGE_ID
from console.replay.runtime import Outbound
from console.replay.sandbox import SandboxRuntime
from console.screens.discard_modal import DiscardFinished, DiscardModal, DiscardPlanned
from console.screens.dlq import FailureGroupsScreen
from console.screens.dlq_message import DeadLetterScreen
from console.screens.dlq_messages import DeadLettersScreen
from console.screens.edit_modal import EditBody, EditRetry
from console.screens.replay_modal import ReplayFinished, ReplayPlanned
from console.screenshots import NOW, settle
from console.widgets.table import RowsTable
from queries import Store, audit, dlq
from queries.ingest import Table
from tests.estate import add_rows, dead_letter
from tests.test_replay_kit import Estate, depth, ingest_dlq, peek
from tests.test_tui_helpers import (
    ESCAPES,
    MessageLog,
    demo_dead_letter,
    private_copy,
)


@pytest.fixture(autouse=True)
def _own_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal per test: it remembers what was confirmed by dead-letter id, and every copy of the
    seeded estate has the same ids, so a shared one would make a later test's run resume this one's."""
    monkeypatch.setattr(journal, "folder", lambda: tmp_path / "journal")


def _check_line(app: BackroomApp, modal: str) -> str:
    return str(app.screen.query_one(f"#{modal}-check", Static).render())


def _status(db: Path, dlq_id: str) -> str:
    with Store.at(db).reading() as cursor:
        found = dlq.show(cursor, dlq_id)
    assert found is not None
    return found.status


def _trail(db: Path) -> list[audit.Action]:
    with Store.at(db).reading() as cursor:
        return audit.trail(cursor)


def _order_state(db: Path, order_id: str) -> str:
    with Store.at(db).reading() as cursor:
        return str(cursor.execute("SELECT state FROM orders WHERE order_id = $o", {"o": order_id}).fetchone()[0])


def _shown_actions(app: BackroomApp) -> set[str]:
    return {active.binding.action for active in app.screen.active_bindings.values() if active.binding.show}


async def _open_message(app: BackroomApp, pilot: Any, log: MessageLog) -> None:
    await log.wait_for(DeadLetterLoaded)
    await settle(pilot)
    assert isinstance(app.screen, DeadLetterScreen)


async def _press_edit(app: BackroomApp, pilot: Any) -> TextArea:
    await pilot.press("E")
    await settle(pilot)
    assert isinstance(app.screen, EditBody)
    return app.screen.query_one("#edit-body", TextArea)


def _record_sends(monkeypatch: pytest.MonkeyPatch) -> list[Outbound]:
    """Every message the sandbox runtime is handed, as the engine prepared it."""
    sent: list[Outbound] = []
    send = SandboxRuntime.send

    async def recording(self: SandboxRuntime, batch: Sequence[Outbound]) -> Any:
        sent.extend(batch)
        return await send(self, batch)
    monkeypatch.setattr(SandboxRuntime, "send", recording)
    return sent


async def test_oncall_edits_a_json_body_and_the_order_moves_forward(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    schema_failure = demo_dead_letter(tmp_path_factory, "schema")
    db = private_copy(tmp_path_factory, "edit-json")
    sent = _record_sends(monkeypatch)
    log = MessageLog()
    app = create_app(db, message=schema_failure, role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_message(app, pilot, log)
        assert {"edit", "discard", "replay", "reroute"} <= _shown_actions(app)
        original = app.screen.found
        assert original is not None and original.order_id and original.message_id
        before_state = _order_state(db, original.order_id)
        area = await _press_edit(app, pilot)
        assert area.text == original.body.text  # the decoded body, JSON pretty-printed
        document = orjson.loads(area.text)
        for line in document["lines"]:
            line.setdefault("tax_code", "VAT-STD")
        area.text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
        await settle(pilot)
        mark = log.mark()
        await pilot.press("ctrl+s")
        planned = await log.wait_for(ReplayPlanned, after=mark)
        await settle(pilot)
        assert isinstance(app.screen, EditRetry) and planned.request is not None and planned.to_send == 1
        request = planned.request
        assert request.action == "edit" and request.runtime == "sandbox:" and request.dry_run
        assert orjson.loads(request.body or b"") == document and request.new_message_id
        facts = "\n".join(str(widget.render()) for widget in app.screen.query("#replay Static"))
        assert "Resend 1 message of dead letter" in facts and "dry run: nothing has been sent yet" in facts
        assert f"new message id {request.new_message_id}" in facts and ORIGINAL_MESSAGE_ID in facts
        assert sent == [] and _trail(db) == []  # the dry run sent and wrote nothing
        mark = log.mark()
        await pilot.click("#replay-go")
        finished = await log.wait_for(ReplayFinished, after=mark, timeout=60)
        await settle(pilot)
        assert finished.summary is not None and finished.summary.moved == [schema_failure]
        assert isinstance(app.screen, DeadLetterScreen)
        assert any(str(toast.message).startswith("edit -> ") for toast in app._notifications)
    [message] = sent
    assert orjson.loads(message.body) == document and message.dlq_id == schema_failure
    assert message.properties["message_id"] == request.new_message_id != original.message_id
    assert message.headers[ORIGINAL_MESSAGE_ID] == original.message_id
    assert _status(db, schema_failure) == "replayed"
    assert (before_state, _order_state(db, original.order_id)) == ("payment_authorized", "invoiced")
    [row] = _trail(db)
    assert (row.action, row.message_ids, row.dry_run, row.outcome) == ("edit", [schema_failure], False, "ok")
    assert '+      "tax_code": "VAT-STD"' in row.detail["diff"]
    assert row.detail["new_message_id"] == request.new_message_id


async def test_invalid_json_is_refused_in_one_line_and_nothing_is_sent(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    schema_failure = demo_dead_letter(tmp_path_factory, "schema")
    db = private_copy(tmp_path_factory, "edit-invalid")
    sent = _record_sends(monkeypatch)
    log = MessageLog()
    app = create_app(db, message=schema_failure, role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_message(app, pilot, log)
        area = await _press_edit(app, pilot)
        await pilot.press("ctrl+s")  # unchanged
        await settle(pilot)
        assert isinstance(app.screen, EditBody)
        assert _check_line(app, "edit") == "the body was not changed: nothing sent"
        area.move_cursor((0, 0))
        await pilot.press("x")  # typed into the editor: 'x{' is no JSON
        await settle(pilot)
        assert area.text.startswith("x{")
        await pilot.click("#edit-go")
        await settle(pilot)
        assert isinstance(app.screen, EditBody)  # the editor stays open with the text typed
        refusal = _check_line(app, "edit")
        assert refusal.startswith("the edited body is not valid JSON (") and refusal.endswith("nothing sent")
        assert "\n" not in refusal and area.text.startswith("x{")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen)
    assert not any(isinstance(message, ReplayPlanned) for message in log.seen)
    assert sent == [] and _trail(db) == [] and _status(db, schema_failure) == "dead"


async def test_binary_and_masked_bodies_are_not_opened_for_editing(tmp_path_factory: pytest.TempPathFactory) -> None:
    poison = demo_dead_letter(tmp_path_factory, "poison")
    personal = demo_dead_letter(tmp_path_factory, "personal")
    db = private_copy(tmp_path_factory, "edit-refused")
    masked = "the body holds personal data shown masked: press U to show it (audited), then E"
    with Store.at(db).reading() as cursor:
        size = cursor.execute("SELECT octet_length(body) FROM dlq_messages WHERE id = ?", [poison]).fetchone()
    binary = f"the body is binary ({size[0] if size else '?'} bytes) and cannot be edited here"
    for dlq_id, why in ((poison, binary), (personal, masked)):
        log = MessageLog()
        app = create_app(db, message=dlq_id, role="oncall", now=NOW, live=None)
        async with app.run_test(size=(160, 48), message_hook=log) as pilot:
            await _open_message(app, pilot, log)
            await pilot.press("E")
            await settle(pilot)
            assert isinstance(app.screen, EditBody) and not app.screen.query(TextArea)
            assert _check_line(app, "edit") == why
            assert app.screen.query_one("#edit-go", Button).disabled
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, DeadLetterScreen)
            if dlq_id == personal:  # shown once unmasked (its own audited action), then editable
                await pilot.press("U")
                await settle(pilot)
                area = await _press_edit(app, pilot)
                assert "@example." in area.text and "***@" not in area.text
                await pilot.press("escape")
                await settle(pilot)
    assert [row.action for row in _trail(db)] == ["unmask"]


async def test_control_characters_stay_inert_in_the_editor_and_come_back_on_save(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "edit-controls")
    body = f"line one {ESCAPES['title']} and {ESCAPES['clear']}\r\n\ttabbed [@click=app.quit]x[/]\x1f end\n"
    add_rows(Store.at(db), Table.DLQ_MESSAGES, [dead_letter(
        "controls-1", "erp.orders.dlq", "ORD-00000448", body=body.encode(), content_type="text/plain",
        message_id="controls-message-1", original_exchange="erp", original_routing_key="order.create")])
    log = MessageLog()
    app = create_app(db, message="controls-1", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_message(app, pilot, log)
        area = await _press_edit(app, pilot)
        assert not any(ord(c) < 0x20 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f for c in area.text)
        assert "␛]0;pwned␇" in area.text and "␍" in area.text and "[@click=app.quit]x[/]" in area.text
        drawn = "".join(segment.text for y in range(area.document.line_count) for segment in area.render_line(y))
        assert "\x1b" not in drawn and "\x07" not in drawn
        area.move_cursor(area.document.end)
        await pilot.press("!")
        await pilot.press("ctrl+s")
        planned = await log.wait_for(ReplayPlanned)
        await settle(pilot)
        assert isinstance(app.screen, EditRetry) and planned.request is not None
        assert planned.request.body == (body + "!").encode()  # the real control characters, not their pictures
        await pilot.press("escape")  # cancelling the dry run sends and writes nothing
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen)
    assert _trail(db) == [] and _status(db, "controls-1") == "dead"


async def _discard(app: BackroomApp, pilot: Any, log: MessageLog, reason: str) -> DiscardPlanned:
    """Press D, check that no reason means no discard, type the reason; the dry plan it showed."""
    mark = log.mark()
    await pilot.press("D")
    planned = await log.wait_for(DiscardPlanned, after=mark)
    await settle(pilot)
    assert isinstance(app.screen, DiscardModal) and planned.reason is None and planned.ids
    assert app.screen.query_one("#discard-go", Button).disabled
    assert _check_line(app, "discard").startswith("a reason is required")
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, DiscardModal)
    app.screen.query_one("#discard-reason", Input).value = reason
    await settle(pilot)
    button = app.screen.query_one("#discard-go", Button)
    assert not button.disabled and str(button.label) == f"Discard {len(planned.ids)}"
    return planned  # type: ignore[no-any-return]


async def test_discarding_a_group_archives_it_with_the_reason(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "discard-group")
    log = MessageLog()
    app = create_app(db, screen="dlq", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(GroupsLoaded)
        await settle(pilot)
        group = app.screen.query_one("#groups", RowsTable).current_key
        assert group is not None and "discard" in _shown_actions(app)
        planned = await _discard(app, pilot, log, "test orders from the load test")
        text = "\n".join(str(widget.render()) for widget in app.screen.query("#discard Static"))
        assert f"Discard {len(planned.ids)} dead letters of group {group}" in text
        assert "the broker copy stays" in text and not app.screen.query_one("#discard-remove").display
        mark = log.mark()
        await pilot.click("#discard-go")
        finished = await log.wait_for(DiscardFinished, after=mark)
        await settle(pilot)
        assert finished.summary is not None and sorted(finished.summary.moved) == sorted(planned.ids)
        assert isinstance(app.screen, FailureGroupsScreen)
        assert any(str(toast.message) == f"discard -> archive (store): moved {len(planned.ids)}, skipped 0, "
                   "failed 0" for toast in app._notifications)
    assert {_status(db, dlq_id) for dlq_id in planned.ids} == {"discarded"}
    [row] = _trail(db)
    assert (row.action, row.target, row.dry_run, row.outcome) == ("discard", "archive (store)", False, "ok")
    assert sorted(row.message_ids) == sorted(planned.ids)
    assert row.detail == {"reason": "test orders from the load test"}


async def test_discard_on_the_list_and_on_one_message_takes_only_that_one(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "discard-one")
    log = MessageLog()
    app = create_app(db, screen="dlq", role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(GroupsLoaded)
        await settle(pilot)
        mark = log.mark()
        await pilot.press("enter")
        await log.wait_for(DeadLettersLoaded, after=mark)
        await settle(pilot)
        assert isinstance(app.screen, DeadLettersScreen)
        table = app.screen.query_one("#messages", RowsTable)
        table.move_cursor(row=1)
        highlighted = table.current_key
        planned = await _discard(app, pilot, log, "duplicate of an earlier invoice")
        assert planned.ids == [highlighted]
        mark = log.mark()
        await pilot.press("enter")  # enter in the reason confirms once a reason is there
        await log.wait_for(DiscardFinished, after=mark)
        await settle(pilot)
        assert isinstance(app.screen, DeadLettersScreen)
        mark = log.mark()
        await pilot.press("enter")
        await log.wait_for(DeadLetterLoaded, after=mark)
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen) and app.screen.found is not None
        single = app.screen.found.id
        assert single != highlighted
        planned = await _discard(app, pilot, log, "customer cancelled")
        assert planned.ids == [single]
        mark = log.mark()
        await pilot.click("#discard-go")
        await log.wait_for(DiscardFinished, after=mark)
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen) and app.screen.found.status == "discarded"
    assert (_status(db, highlighted), _status(db, single)) == ("discarded", "discarded")
    assert [(row.message_ids, row.detail) for row in _trail(db)] == [
        ([single], {"reason": "customer cancelled"}), ([highlighted], {"reason": "duplicate of an earlier invoice"})]


async def test_cancelling_a_discard_changes_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    schema_failure = demo_dead_letter(tmp_path_factory, "schema")
    db = private_copy(tmp_path_factory, "discard-cancel")
    log = MessageLog()
    app = create_app(db, message=schema_failure, role="oncall", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await _open_message(app, pilot, log)
        await _discard(app, pilot, log, "not needed")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen)
        await _discard(app, pilot, log, "not needed either")
        await pilot.click("#discard-cancel")
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen)
    assert not any(isinstance(message, DiscardFinished) for message in log.seen)
    assert _trail(db) == [] and _status(db, schema_failure) == "dead"


@pytest.mark.broker
async def test_on_the_real_broker_edit_sends_a_new_id_and_discard_may_remove(
        store_path: Path, store: Store, tmp_path: Path) -> None:
    async with Estate() as estate:
        edited_id, discarded_id = await estate.dead_letters(2)
        ingest_dlq(store, estate.dlq, tmp_path)
        log = MessageLog()
        app = create_app(store_path, message=edited_id, role="oncall", now=NOW, live=None)
        async with app.run_test(size=(160, 48), message_hook=log) as pilot:
            await _open_message(app, pilot, log)
            area = await _press_edit(app, pilot)
            area.text = area.text.replace('"n": 0', '"n": 999')
            mark = log.mark()
            await pilot.press("ctrl+s")
            await log.wait_for(ReplayPlanned, after=mark)
            await settle(pilot)
            mark = log.mark()
            await pilot.click("#replay-go")
            finished = await log.wait_for(ReplayFinished, after=mark, timeout=60)
            assert finished.summary is not None and finished.summary.failed == [], finished.summary
            await settle(pilot)
            app.action_open_message(discarded_id)
            await log.wait_for(DeadLetterLoaded, lambda message: message.key == discarded_id)
            await settle(pilot)
            await _discard(app, pilot, log, "a test message")
            remove = app.screen.query_one("#discard-remove", Checkbox)
            assert remove.display and not remove.value  # offered, off unless ticked
            remove.value = True
            await settle(pilot)
            assert "then taken off the broker's queue" in _check_line(app, "discard")
            mark = log.mark()
            await pilot.click("#discard-go")
            discarded = await log.wait_for(DiscardFinished, after=mark, timeout=60)
            assert discarded.summary is not None and discarded.summary.moved, discarded
        [resent] = peek(estate.work)
        assert orjson.loads(resent["payload"])["n"] == 999
        assert resent["properties"]["message_id"] != edited_id
        assert resent["properties"]["headers"][ORIGINAL_MESSAGE_ID] == edited_id
        assert await depth(estate.dlq) == 0
    with store.reading() as cursor:
        statuses = dict(cursor.execute("SELECT message_id, status FROM dlq_messages").fetchall())
        trail = audit.trail(cursor)
    assert statuses == {edited_id: "replayed", discarded_id: "discarded"}
    assert [(row.action, row.detail.get("reason")) for row in trail] == [("discard", "a test message"),
                                                                         ("edit", None)]
