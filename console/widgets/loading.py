"""The spinner over a screen whose query is still running, redrawn 4 times a second, not 16.

Textual's LoadingIndicator repaints its whole area 16 times a second; over a 160×45 body on a
2-core machine that took most of the UI thread (and the GIL) while a slow query ran on the
2.5M-order store, slowing the query it was waiting for.
"""

from __future__ import annotations

from textual.widgets import LoadingIndicator

FRAMES_PER_SECOND = 4


class CalmLoading(LoadingIndicator):
    """The same dots, a quarter of the redraws."""

    def on_mount(self) -> None:
        # Textual runs this class's Mount handlers before LoadingIndicator's, which sets 1/16:
        # set the rate once the whole Mount has been handled
        self.call_later(setattr, self, "auto_refresh", 1 / FRAMES_PER_SECOND)
