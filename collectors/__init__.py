"""Collectors: traces, business events and dead letters into the canonical tables (no Textual)."""

from __future__ import annotations

from collectors.detect import SourceUnreadable
from collectors.ingest import UnsupportedFormat, ingest_paths
from collectors.reports import FileReport, IngestReport, ProgressInfo

__all__ = [
    "FileReport", "IngestReport", "ProgressInfo", "SourceUnreadable", "UnsupportedFormat",
    "ingest_paths",
]
