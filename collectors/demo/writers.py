"""Streaming file writers: rotating JSON Lines, and spools read back once at the end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

MAX_LINES = 100_000
MAX_BYTES = 100 * 1024 * 1024
_BUFFER = 1 << 20
_SPOOL_BUFFER = 1 << 16  # seven spools stay open at once; their buffers count towards the peak
_NEWLINE = orjson.OPT_APPEND_NEWLINE


@dataclass
class FileStat:
    """What one written file holds."""

    path: Path
    lines: int = 0
    items: int = 0
    size: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class RotatingJsonl:
    """JSON Lines under `folder/prefix-NNN.jsonl`, opening a new file every `max_lines` lines."""

    def __init__(self, folder: Path, prefix: str, max_lines: int = MAX_LINES) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.prefix = prefix
        self.max_lines = max_lines
        self.files: list[FileStat] = []
        self._handle: Any = None
        self._current: FileStat | None = None

    def write(self, line: bytes, items: int = 1) -> None:
        """Append one line (already ending in a newline) that carries `items` records."""
        current = self._current
        if current is None or current.lines >= self.max_lines or current.size >= MAX_BYTES:
            current = self._rotate()
        self._handle.write(line)
        current.lines += 1
        current.items += items
        current.size += len(line)

    def room(self) -> int:
        """Lines the current file can still take, opening the next file when it is full."""
        current = self._current
        if current is None or current.lines >= self.max_lines or current.size >= MAX_BYTES:
            current = self._rotate()
        return self.max_lines - current.lines

    def write_block(self, block: bytes, lines: int, items: int, kinds: dict[str, int]) -> None:
        """Append several lines at once; the caller keeps within `room()`."""
        current = self._current
        if current is None or current.lines >= self.max_lines or current.size >= MAX_BYTES:
            current = self._rotate()
        self._handle.write(block)
        current.lines += lines
        current.items += items
        current.size += len(block)
        for kind, count in kinds.items():
            current.kinds[kind] = current.kinds.get(kind, 0) + count

    def count(self, kind: str, items: int = 1) -> None:
        """Tally records of one kind (event type, service) in the current file."""
        assert self._current is not None
        kinds = self._current.kinds
        kinds[kind] = kinds.get(kind, 0) + items

    def _rotate(self) -> FileStat:
        if self._handle is not None:
            self._handle.close()
        path = self.folder / f"{self.prefix}-{len(self.files) + 1:03d}.jsonl"
        self._handle = path.open("wb", buffering=_BUFFER)
        self._current = FileStat(path)
        self.files.append(self._current)
        return self._current

    def close(self) -> list[FileStat]:
        """Flush and close; the stats of every file written."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        return self.files


class Spool:
    """A temporary JSON Lines file of records, read back once in order (memory stays flat)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.count = 0
        self._handle: Any = path.open("wb", buffering=_SPOOL_BUFFER)

    def add(self, record: Any) -> None:
        """Append one record."""
        self._handle.write(orjson.dumps(record, option=_NEWLINE))
        self.count += 1

    def lines(self) -> Iterator[bytes]:
        """The spooled records as JSON text, in the order they were added."""
        self._handle.close()
        with self.path.open("rb") as handle:
            for line in handle:
                yield line.rstrip(b"\n")

    def discard(self) -> None:
        """Remove the spool file."""
        self._handle.close()
        self.path.unlink(missing_ok=True)


class SortedSpool(Spool):
    """A spool read back ordered by a numeric key (keeps only keys and offsets in memory)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._index: list[tuple[int, int, int]] = []
        self._offset = 0

    def add_keyed(self, key: int, record: Any) -> None:
        """Append one record to be read back in `key` order."""
        line = orjson.dumps(record, option=_NEWLINE)
        self._index.append((key, self.count, self._offset))
        self._handle.write(line)
        self._offset += len(line)
        self.count += 1

    def lines(self) -> Iterator[bytes]:
        """The records as JSON text, by key, ties in insertion order."""
        self._handle.close()
        self._index.sort()
        with self.path.open("rb") as handle:
            for _, _, offset in self._index:
                handle.seek(offset)
                yield handle.readline().rstrip(b"\n")
