"""Collectors: traces, business events and dead letters into the canonical tables (no Textual)."""

from __future__ import annotations

from collectors.detect import SourceUnreadable
from collectors.ingest import (
    FileReport,
    IngestReport,
    ProgressInfo,
    UnsupportedFormat,
    ingest_paths,
)

__all__ = [
    "FileReport", "IngestReport", "ProgressInfo", "SourceUnreadable", "UnsupportedFormat",
    "ingest_paths",
]
