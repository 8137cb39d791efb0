"""DuckDB extensions from their PyPI wheels, installed into a directory backroom owns; never downloaded."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import duckdb

from queries.errors import BackroomError

_lock = threading.Lock()


def home() -> Path:
    """backroom's own data directory (`BACKROOM_HOME`, else the XDG data home)."""
    explicit = os.environ.get("BACKROOM_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "backroom"


def directory() -> Path:
    return home() / "duckdb-extensions"


def connection_config() -> dict[str, str | bool | int | float | list[str]]:
    """Config for every DuckDB instance we open: our extension directory, no auto-install."""
    return {
        "extension_directory": str(directory()),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }


def wheel_file(name: str) -> Path:
    """The extension binary shipped inside the `duckdb-extension-<name>` wheel."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise BackroomError(
            f"DuckDB extension {name!r} is not installed: pip install duckdb-extension-{name}=={duckdb.__version__}"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"


def installed_file(con: duckdb.DuckDBPyConnection, name: str) -> Path:
    platform = con.execute("PRAGMA platform").fetchone()[0]  # type: ignore[index]
    canonical = {"postgres": "postgres_scanner", "sqlite": "sqlite_scanner"}.get(name, name)
    return directory() / f"v{duckdb.__version__}" / platform / f"{canonical}.duckdb_extension"


def load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Install `name` from its wheel on first use (a copy into our directory), then LOAD it."""
    with _lock:
        if not installed_file(con, name).exists():
            source = wheel_file(name)
            con.execute(f"INSTALL '{str(source).replace(chr(39), chr(39) * 2)}'")
        con.execute(f"LOAD {name}")
