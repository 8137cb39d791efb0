"""Rejects: input records that ingest and collect quarantined, where each came from and why."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.messages import RejectsLoaded
from console.safe_text import inert_line
from console.screens.base import DataScreen
from console.widgets.safe import page_range, plain, when
from console.widgets.table import Col, Row, RowsTable
from console.workers import Fetch
from queries import rejects
from queries.rejects import Rejected

# What is wrong first, then where: at 80 columns the source is cut, and the panel has it whole.
COLUMNS = (Col("rejected", "at", 14), Col("reason", "reason", 48), Col("source", "source", 30),
           Col("line", "line", 7), Col("record", "excerpt", spare=1))
EMPTY = "Nothing quarantined: every record read so far was stored."


def short_source(source: str) -> str:
    """A file's folder and name (the full path is in the detail below); a live source as it is."""
    parts = source.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else source


def beside(source: str, store: Path) -> str:
    """A file under the store's folder (the demo's estate) named from there; any other as it is."""
    for folder in dict.fromkeys((store.parent, store.resolve().parent)):
        try:
            inside = PurePosixPath(source).relative_to(folder)
        except ValueError:
            continue
        return f"{inside.as_posix()}, in the store's folder"
    return source


class RejectsScreen(DataScreen):
    """The quarantine, newest first, 200 a page; the highlighted record whole below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "page(1)", "next page", key_display="]", id="rejects.next"),
        Binding("left_square_bracket", "page(-1)", "previous", key_display="[", show=False,
                id="rejects.previous"),
    ]
    LABEL = "Rejects"
    ENTER = "into the record's panel below, to scroll it (tab comes back)"
    HELP = ("Input records that could not be stored (bad JSON, not UTF-8, a missing id, a torn "
            "last line, …), newest first, 200 a page: the file or live source, line, byte offset "
            "and reason of each, and what it held (card numbers and personal data masked). "
            "The rest of each file was stored. 'backroom rejects' lists the same for scripts.")

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Static(Content.styled("Rejects (quarantined input)", "bold"), classes="heading")
            yield Static(id="status", classes="status")
            yield RowsTable(id="rejects")
            with VerticalScroll(classes="panel", id="detail-panel"):
                yield Static(id="detail")

    def on_mount(self) -> None:
        self.query_one("#detail-panel").border_title = "Record"

    def fetcher(self) -> Fetch:
        offset = self.page_offset
        return lambda cursor: RejectsLoaded(page=rejects.quarantined(cursor, offset=offset,
                                                                     limit=self.PAGE_SIZE))

    def _page(self) -> rejects.RejectPage | None:
        return self.last.page if isinstance(self.last, RejectsLoaded) else None

    def show(self, message: Any) -> None:
        page, redactor = message.page, self.redactor
        self.query_one("#rejects", RowsTable).show(COLUMNS, [Row(str(page.offset + index), (
            plain(when(item.rejected_at)), redactor.line(item.reason), redactor.ident(short_source(item.source)),
            plain(item.line), redactor.line(item.excerpt)))
            for index, item in enumerate(page.rejects)])
        self.refresh_status()
        self._detail()

    def refresh_status(self) -> None:
        page = self._page()
        if page is None:
            return
        shown = len(page.rejects)
        text = f"{page_range(page.offset, shown, page.total)} rejected records, newest first" if shown else EMPTY
        text += self.query_one("#rejects", RowsTable).filter_note
        self.query_one("#status", Static).update(Content(inert_line(text)))

    def _current(self) -> Rejected | None:
        page, key = self._page(), self.query_one("#rejects", RowsTable).current_key
        if page is None or key is None:
            return None
        index = int(key) - page.offset
        return page.rejects[index] if 0 <= index < len(page.rejects) else None

    def _detail(self) -> None:
        item, detail = self._current(), self.query_one("#detail", Static)
        if item is None:
            detail.update(Content.styled("nothing selected", "$foreground-muted"))
            return
        where = " · ".join(part for part in (
            f"line {item.line:,}" if item.line is not None else "",
            f"byte {item.byte_offset:,}" if item.byte_offset is not None else "",
            f"ingest #{item.ingest_id}" if item.ingest_id is not None else "") if part)
        # The reason and the record first: a short terminal shows three lines of this panel.
        detail.update(Content.assemble(
            ("reason ", "$foreground-muted"), self.redactor.content(item.reason, "$text-warning"), "\n",
            ("record ", "$foreground-muted"), self.redactor.block(item.excerpt or "–"), "\n",
            ("source ", "$foreground-muted"),
            self.redactor.ident_content(beside(item.source, self.context.store.path)),
            "\n", ("where  ", "$foreground-muted"), where or "–"))

    @on(RowsTable.RowSelected, "#rejects")
    def _chosen(self, _event: RowsTable.RowSelected) -> None:
        self.query_one("#detail-panel").focus()

    @on(RowsTable.RowHighlighted, "#rejects")
    def _highlighted(self, _event: RowsTable.RowHighlighted) -> None:
        self._detail()

    def rows_total(self) -> int:
        page = self._page()
        return page.total if page is not None else 0
