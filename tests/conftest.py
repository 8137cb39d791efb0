"""Shared fixtures: a fresh store file per test, and backroom's home in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from queries import Store


@pytest.fixture(autouse=True, scope="session")
def _backroom_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the extension directory and any state out of the developer's home."""
    os.environ["BACKROOM_HOME"] = str(tmp_path_factory.mktemp("backroom-home"))
    os.environ.pop("BACKROOM_DB", None)
    os.environ.pop("BACKROOM_CONFIG", None)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture
def store(store_path: Path) -> Store:
    """A new, migrated, empty store."""
    fresh = Store.at(store_path)
    with fresh.writing():
        pass
    return fresh
