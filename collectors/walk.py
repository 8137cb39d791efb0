"""Which files the paths given to ingest and collect --follow name, and whether they can be read."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from collectors.detect import SourceUnreadable, unreadable


def expand(paths: Sequence[Path], skip: Sequence[Path] = ()) -> list[Path]:
    """Files to read: files as given, folders walked recursively in sorted order.

    Inside folders, hidden entries, the files in `skip` (the store itself and its WAL, when
    someone ingests the folder that holds it) and what is not a file (a named pipe, which would
    hold the ingest until something writes to it; a socket; a device) are left out. A link that
    leads nowhere stays in, so that `preflight` names it.
    """
    # Path.resolve raises on a symbolic link loop (Python 3.11); realpath gives the path back.
    skipped = {os.path.realpath(path) for path in skip}
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(name for name in dirs if not name.startswith("."))
                found = (Path(root) / name for name in sorted(names) if not name.startswith("."))
                files += [file for file in found
                          if os.path.realpath(file) not in skipped and not is_special(file)]
        elif path.exists():
            files.append(path)
        else:
            raise unreadable(path, FileNotFoundError(2, "No such file or directory"))
    return files


def is_special(path: Path) -> bool:
    """Whether `path` is there but is no regular file (a named pipe, socket or device)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False  # not there, or a link that leads nowhere: reading it says why
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def is_pipe(path: Path) -> bool:
    """Whether `path` is a pipe (a named pipe, or the /dev/fd/N a shell's `<(...)` names), whose
    bytes can be read once: not a device, which may never end (/dev/zero) or be a terminal."""
    try:
        return stat.S_ISFIFO(path.stat().st_mode)
    except OSError:
        return False


def preflight(files: Sequence[Path]) -> None:
    """Refuse the whole run before writing anything when a file cannot be opened."""
    for path in files:
        if is_special(path):  # opening a named pipe would wait for a writer
            raise SourceUnreadable(f"cannot read {path}: not a regular file")
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise unreadable(path, exc) from None
