"""What an ingest reports: progress while it runs, and per-file and overall counts at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from queries.ingest import Reject, Table


def _tables() -> dict[str, int]:
    return {table.value: 0 for table in Table}


def plural(count: int, word: str) -> str:
    """'1 row', '2 rows', '1,000 rejects'."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class ProgressInfo:
    """How far ingest got: within the current file (bytes) and over all files."""

    path: Path
    format: str
    bytes_done: int
    bytes_total: int
    records: int
    files_done: int
    files_total: int


@dataclass
class FileReport:
    """What ingest did with one file."""

    path: str
    format: str
    records: int = 0  # records read: rows written + duplicates skipped + rejects, always
    rows: dict[str, int] = field(default_factory=_tables)
    rejects: int = 0
    skipped_duplicates: int = 0
    unchanged: bool = False  # the same content was ingested before: nothing was read again
    resumed_from: int | None = None  # byte offset an interrupted earlier run had committed
    samples: list[Reject] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "records": self.records, "rows": self.rows,
            "rejects": self.rejects, "skipped_duplicates": self.skipped_duplicates,
            "unchanged": self.unchanged, "resumed_from": self.resumed_from,
        }


@dataclass
class IngestReport:
    """What one `ingest_paths` call did, over all files."""

    files: int = 0
    rows: dict[str, int] = field(default_factory=_tables)
    rejects: int = 0
    skipped_duplicates: int = 0
    records: int = 0
    sources: list[FileReport] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    spooled_segments: int = 0  # segments a live collector left while the store was busy

    def add(self, file_report: FileReport) -> None:
        self.files += 1
        for table, count in file_report.rows.items():
            self.rows[table] = self.rows.get(table, 0) + count
        self.rejects += file_report.rejects
        self.skipped_duplicates += file_report.skipped_duplicates
        self.records += file_report.records
        self.sources.append(file_report)

    @property
    def reject_samples(self) -> list[Reject]:
        """The first rejects of each file (at most 20 per file), for showing to a person."""
        return [sample for source in self.sources for sample in source.samples]

    def to_json(self) -> dict[str, Any]:
        """The `ingest --json` document: files, rows, rejects, skipped_duplicates, and more."""
        return {
            "files": self.files, "rows": dict(self.rows), "rejects": self.rejects,
            "skipped_duplicates": self.skipped_duplicates, "records": self.records,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "spooled_segments": self.spooled_segments,
            "sources": [source.to_json() for source in self.sources],
            "reject_samples": [
                {"source": r.source, "line": r.line, "byte_offset": r.byte_offset,
                 "reason": r.reason, "excerpt": r.excerpt}
                for r in self.reject_samples
            ],
        }

    def summary_line(self) -> str:
        """One line for people, e.g. '3 files: 12,345 rows, 2 rejects, 0 duplicates skipped'."""
        rows = sum(self.rows.values())
        resumed = sum(source.resumed_from is not None for source in self.sources)
        return (
            f"{plural(self.files, 'file')}: {plural(rows, 'row')}, "
            f"{plural(self.rejects, 'reject')}, "
            f"{plural(self.skipped_duplicates, 'duplicate')} skipped"
            + (f" ({resumed} resumed where an interrupted run had committed)" if resumed else "")
        )
