"""Screenshots of every screen from fixed scenarios on a seeded demo estate with time frozen.

`python -m console.screenshots [DIR]` (or `make screenshots`) writes one SVG per scenario into
`screenshots/`; the snapshot tests (tests/test_tui_snapshots.py) run the very same scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from console.app import BackroomApp, create_app

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SEED = 7
ORDERS = 600
WIDE = (160, 48)
NARROW = (80, 24)
SCENARIO_LIVE_SECONDS = 3600.0  # live stays on (as a user sees it) but never fires during a screenshot
Step = str | Callable[[BackroomApp], Any]


def build_estate(directory: Path) -> Path:
    """The seeded demo estate every scenario and test runs on; returns the store's path."""
    from console import demo

    return demo.build(directory / "backroom.duckdb", orders=ORDERS, seed=SEED, now=NOW).db


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until no screen has a query in flight and every message it posted was handled."""
    app = pilot.app
    for _ in range(500):
        await app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(getattr(screen, "is_loading", False) for screen in app.screen_stack)
        if not busy and not any(worker.is_running for worker in app.workers):
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()  # a table sizes its columns when idle, after the rows arrived
            return
    raise TimeoutError("the console did not settle")


@dataclass(frozen=True)
class Scenario:
    """A screen state: how the app is opened, what is pressed, at what terminal size."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    steps: Sequence[Step] = ()
    size: tuple[int, int] = WIDE
    theme: str | None = None

    def app(self, db: Path) -> BackroomApp:
        built = create_app(db, now=NOW, live=SCENARIO_LIVE_SECONDS, **self.options)
        if self.theme:
            built.theme = self.theme
        return built

    async def run(self, pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for step in self.steps:
            if isinstance(step, str):
                await pilot.press(step)
            else:
                step(pilot.app)  # type: ignore[arg-type]
            await settle(pilot)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("overview"),
    Scenario("overview_80x24", size=NARROW),
    Scenario("overview_light", theme="textual-light"),
    Scenario("orders_search", {"screen": "orders"}, [lambda app: app.action_search("0003")]),
    Scenario("journey", {"search": "#1129"}),
    Scenario("journey_spans", {"search": "#1129"}, ["w"]),
    Scenario("journey_support", {"search": "#1129", "role": "support"}),
    Scenario("sla", {"screen": "sla"}),
    Scenario("inventory", {"screen": "inventory"}),
    Scenario("dlq_groups", {"screen": "dlq"}),
    Scenario("dlq_messages", {"screen": "dlq"}, ["enter"]),
    # on an 80-column terminal the spare columns (status, deaths, queue, reason) are left out
    Scenario("dlq_messages_80x24", {"screen": "dlq"}, ["down", "enter"], size=NARROW),
    Scenario("dlq_message", {"screen": "dlq"}, ["enter", "enter"]),
    Scenario("dlq_replay", {"screen": "dlq"}, ["enter", "R"]),
    Scenario("dlq_reroute", {"screen": "dlq"}, ["enter", "M", lambda app: setattr(
        app.screen.query_one("#reroute-to"), "value", "queue:erp.orders.parked")]),
    # a schema failure whose body holds no personal data, so the editor opens without unmasking
    Scenario("dlq_edit", {"message": "88c4e6cca2414b3dab00fe44"}, ["E", lambda app: setattr(
        app.screen.query_one("#edit-body"), "cursor_blink", False)]),
    Scenario("dlq_discard", {"screen": "dlq"}, ["enter", "D", lambda app: setattr(
        app.screen.query_one("#discard-reason"), "value", "test order from the load test"), lambda app: setattr(
        app.screen.query_one("#discard-reason"), "cursor_blink", False)]),
    Scenario("audit", {"screen": "audit"}),
    Scenario("rejects", {"screen": "rejects"}, ["down"]),  # the till's declined card, masked
    Scenario("help", {"screen": "sla"}, ["question_mark"]),
)


async def export(scenario: Scenario, db: Path) -> str:
    """The SVG of one scenario, exactly as the snapshot test sees it."""
    app = scenario.app(db)
    async with app.run_test(size=scenario.size) as pilot:
        await scenario.run(pilot)
        await pilot.pause()
        return app.export_screenshot(title=f"backroom · {scenario.name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("screenshots"))
    parser.add_argument("--only", action="append", help="only this scenario (repeatable)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="backroom-screens-") as scratch:
        db = build_estate(Path(scratch))
        for scenario in SCENARIOS:
            if args.only and scenario.name not in args.only:
                continue
            target = args.out / f"{scenario.name}.svg"
            target.write_text(asyncio.run(export(scenario, db)), encoding="utf-8")
            print(target)


if __name__ == "__main__":
    main()
