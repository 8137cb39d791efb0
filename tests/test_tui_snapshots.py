"""Snapshot of every screen state, on the seeded demo estate with time frozen (the README's screenshots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.screenshots import SCENARIOS, Scenario
from tests.test_tui_helpers import shared_estate


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_estate(tmp_path_factory)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_screen(scenario: Scenario, estate: Path, snap_compare: Any) -> None:
    assert snap_compare(scenario.app(estate), terminal_size=scenario.size, run_before=scenario.run)
