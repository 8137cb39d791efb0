"""One file's ingest while it runs: its counts, and its batches written in units of work.

Rows go in with a plain INSERT until a key repeats (DuckDB's INSERT OR IGNORE costs about a
third more); the unit of work that meets one is rolled back, its counts restored, and written
again skipping duplicates, as is the rest of the file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from opentelemetry import trace

from collectors.reports import FileReport
from collectors.units import Batch, Units
from queries import ingest as log
from queries import rollup
from queries.ingest import IngestTotals, Reject, Table

_tracer = trace.get_tracer("backroom.collectors")


@dataclass
class FileRun:
    """The state of one file's ingest while it runs."""

    path: Path
    fmt: str
    size: int
    report: FileReport
    commit_every: int  # batches in a unit of work, at least (units.Units.batch_done)
    ingest_id: int = 0
    totals: IngestTotals = field(default_factory=IngestTotals)  # cumulative, as the log records it
    pending: list[Reject] = field(default_factory=list)
    # Rows go in with a plain INSERT while no key has been seen twice (queries.ingest.insert_rows):
    # the batches of the open unit of work and the counts before it, to write it again without.
    new_keys: bool = False
    unit: list[tuple[Batch, bool]] = field(default_factory=list)
    before_unit: tuple[IngestTotals, FileReport] | None = None

    def mark(self) -> None:
        """Remember the counts as they stand before the open unit's first batch."""
        self.before_unit = (copy.deepcopy(self.totals), copy.deepcopy(self.report))

    def undo(self) -> None:
        """Put the counts back as they were before the open unit (its writes were rolled back)."""
        assert self.before_unit is not None
        totals, report = copy.deepcopy(self.before_unit)
        self.totals = totals
        for name in ("rows", "skipped_duplicates", "rejects", "samples"):
            setattr(self.report, name, getattr(report, name))

    def write(self, units: Units, batch: Batch, *, final: bool = False) -> None:
        """Write a batch's rows and rejects and the log's progress; commit every few batches.

        While `self.new_keys` holds, rows go in with a plain INSERT. The first key stored already
        (or given twice) aborts the unit of work: it is rolled back and its batches written again
        skipping duplicates, as is the rest of the file.
        """
        if self.new_keys:
            if not self.unit:
                self.mark()
            self.unit.append((batch, final))
        try:
            self._write_batch(units, batch, final)
        except duckdb.ConstraintException:
            if not self.new_keys:
                raise
            units.rollback()
            self.undo()
            self.new_keys = False
            unit, self.unit = self.unit, []
            for again, last in unit:
                self._write_batch(units, again, last)
        if not final and units.batch_done(self.commit_every):
            self.unit = []

    def _write_batch(self, units: Units, batch: Batch, final: bool) -> None:
        cursor = units.cursor()
        if batch.table is not None and batch.rows is not None:
            with _tracer.start_as_current_span("ingest batch") as span:
                inserted, duplicates = log.insert_rows(cursor, batch.table, batch.rows,
                                                       new_keys=self.new_keys)
                span.set_attribute("backroom.rows", inserted)
                span.set_attribute("backroom.duplicates", duplicates)
            units.inserted(inserted)
            self.report.rows[batch.table.value] += inserted
            self.report.skipped_duplicates += duplicates
            self.totals.rows[batch.table.value] += inserted
            self.totals.skipped_duplicates += duplicates
        if batch.rejects:
            count = log.record_rejects(cursor, self.ingest_id, batch.rejects)
            self.report.rejects += count
            self.totals.rejects += count
            self.report.samples += batch.rejects[: max(0, 20 - len(self.report.samples))]
        if final:
            if self.totals.rows[Table.EVENTS.value]:
                # The per-order rollups follow the events in the same unit of work (002_orders.sql).
                rollup.refresh_orders(cursor, self.ingest_id)
            log.finish(cursor, self.ingest_id, self.totals, batch.offset, batch.lines)
        else:
            log.checkpoint(cursor, self.ingest_id, self.totals, batch.offset, batch.lines)
