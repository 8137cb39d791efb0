"""The span waterfall of a journey: every trace the order touched, one after another, bars to scale."""

from __future__ import annotations

from collections import defaultdict

from rich.text import Text

from console.output import seconds
from console.widgets.safe import Redactor, Tones
from console.widgets.table import Col, Row
from queries.journey import Journey, JourneySpan

ERROR = 2  # OTLP status code
COLUMNS = (Col("offset", "offset", 9), Col("service", "service", 20), Col("span", "span", 36),
           Col("took", "took", 9), Col("", "bar"), Col("error", "error"))
_MAX_DEPTH = 6


def _depths(spans: list[JourneySpan]) -> dict[str, int]:
    """How deep each span sits under its trace's root (a missing parent counts as a root)."""
    parents = {span.span_id: span.parent_span_id for span in spans}
    depths: dict[str, int] = {}
    for span in spans:
        depth, parent, seen = 0, span.parent_span_id, set()
        while parent in parents and parent not in seen and depth < _MAX_DEPTH:
            seen.add(parent)
            depth, parent = depth + 1, parents[parent]
        depths[span.span_id] = depth
    return depths


def _bar(span: JourneySpan, start: float, total: float, width: int) -> str:
    offset = ((span.start_time.timestamp() - start) if span.start_time else 0.0)
    first = min(width - 1, int(offset / total * width)) if total > 0 else 0
    length = max(1, round((span.duration_ms or 0) / 1000 / total * width)) if total > 0 else 1
    return " " * first + "━" * min(length, width - first)


def _took(millis: float | None) -> str:
    """12 ms, 1.3 s, 6m 55s."""
    millis = millis or 0.0
    if millis < 1000:
        return f"{millis:,.0f} ms"
    if millis < 60_000:
        return f"{millis / 1000:.1f} s"
    return seconds(millis / 1000)


def span_rows(journey: Journey, redactor: Redactor, tones: Tones, bar_width: int) -> list[Row]:
    """A heading row per trace, then its spans indented by depth, each with a bar scaled to its trace."""
    by_trace: dict[str, list[JourneySpan]] = defaultdict(list)
    for span in journey.spans:
        by_trace[span.trace_id].append(span)
    timed = [s.start_time.timestamp() for s in journey.spans if s.start_time]
    origin = min(timed) if timed else 0.0
    rows: list[Row] = []
    for trace_id, spans in by_trace.items():
        starts = [s.start_time.timestamp() for s in spans if s.start_time]
        ends = [s.end_time.timestamp() for s in spans if s.end_time]
        start = min(starts) if starts else origin
        total = (max(ends) - start) if ends else 0.0
        errors = sum(1 for s in spans if s.status_code == ERROR)
        heading = Text.assemble(("trace ", tones("foreground-muted")), redactor.ident(trace_id, width=12))
        rows.append(Row(f"trace:{trace_id}", (
            Text("+" + seconds(start - origin), style=tones("text-primary", bold=True)), heading,
            Text(f"{len(spans)} spans", style=tones("foreground-muted")),
            Text(_took(total * 1000), justify="right"),
            Text(""), Text(f"{errors} failed" if errors else "", style=tones("text-error", bold=True)))))
        depths = _depths(spans)
        for span in spans:
            failed = span.status_code == ERROR
            tone = tones("text-error") if failed else tones("text-primary")
            rows.append(Row(f"span:{trace_id}:{span.span_id}", (
                Text(""), redactor.ident(span.service),
                Text.assemble("  " * depths[span.span_id], redactor.line(span.name)),
                Text(_took(span.duration_ms), justify="right"),
                Text(_bar(span, start, total, bar_width), style=tone),
                redactor.line(span.status_message or "error", style=tones("text-error")) if failed
                else Text(""))))
    return rows
