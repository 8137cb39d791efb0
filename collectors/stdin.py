"""`backroom ingest -`: a piped stream is saved as a file first, then read like any other file.

Ingest reads a file more than once (its head to tell the format, its content hash for
idempotency, its lines in pieces on several processes, and again for the lines a fast path left
out), so a stream is copied to disk as it arrives. The copy is named by its content's hash: the
same stream piped again is the same file, found ingested already (or resumed, after an
interrupted run). A copy whose records were all stored is removed afterwards; one with rejects
is kept, since their file, line and offset point into it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from queries import extensions

PREFIX = "stdin-"
_CHUNK = 1 << 20


def folder() -> Path:
    """Where piped input is kept: under backroom's home, readable by its owner only."""
    return extensions.home() / "stdin"


def save(stream: BinaryIO) -> Path | None:
    """Copy `stream` to a file named by its SHA-256; None if it was empty."""
    target_folder = folder()
    target_folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest, size = hashlib.sha256(), 0
    temp = target_folder / f".{PREFIX}{os.getpid()}.part"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # bodies may hold personal data
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if not size:
            return None
        target = target_folder / f"{PREFIX}{digest.hexdigest()[:24]}"
        if target.exists():
            return target  # piped before: the same content, the same file
        os.replace(temp, target)
        return target
    finally:
        temp.unlink(missing_ok=True)


def forget(path: Path) -> None:
    """Remove a saved stream once nothing points into it."""
    path.unlink(missing_ok=True)
