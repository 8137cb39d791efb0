"""Python's full garbage collections, moved to moments when nobody is waiting on the console.

A full (generation 2) collection visits every container object the process holds and holds the
UI thread while it does: 20-70 ms on this machine's console after a few screens at 320k orders,
80-180 ms at 2.5M (their widgets, rows and caches), which was every UI-thread callback over 50 ms
in the console benchmark. Young collections stay automatic (they visit only new objects: a few
milliseconds); full ones (17-25 ms at 2.5M with the freezing below) run once the console has been
calm for IDLE_SECONDS (no key, no mouse, no query in flight: someone waiting for an answer is not
idle), or, so that memory stays bounded under endless work, once FORCE_AFTER young-generation
passes have piled up without one.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_SECONDS = 2.0
# What survives a calm collection is frozen (gc.freeze), so the next one visits only what is new:
# a few milliseconds where a pass over everything took 80-180 ms at 2.5M. Garbage that was alive
# when frozen waits for a sweep over everything, run after SWEEP_SECONDS of calm (the user is
# away), or sooner, at a calm moment, once the frozen objects have doubled since the last sweep.
SWEEP_SECONDS = 60.0
CHECK_SECONDS = 1.0
# Generation-1 passes since the last full collection; CPython's default runs one after 10
# (and a quarter more long-lived objects), so this is at most ten times the usual garbage.
FORCE_AFTER = 100
_NEVER = 1 << 30  # a generation-2 threshold no count reaches


class IdleCollector:
    """Runs full collections when the console is idle; `start` at mount, `stop` at unmount."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_input = clock()
        self.collections = 0
        self.sweeps = 0
        self._saved: tuple[int, int, int] | None = None
        self._swept_frozen = 0  # objects frozen at start or after the last sweep
        self._frozen_since_sweep = False

    def start(self) -> None:
        """Freeze what is alive (it lives as long as the app) and turn the automatic full
        collections off (young ones go on as before)."""
        if self._saved is None:
            gc.freeze()
            self._swept_frozen = max(1, gc.get_freeze_count())
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, _NEVER)

    def stop(self) -> None:
        """Give the collector its thresholds back, as they were before `start`, and unfreeze."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        gc.unfreeze()

    def touched(self) -> None:
        """The user pressed a key or used the mouse, or an answer is awaited: not a moment to pause."""
        self.last_input = self.clock()

    def pending(self) -> int:
        """Generation-1 passes since the last full collection."""
        return gc.get_count()[2]

    def tick(self, busy: bool = False) -> bool:
        """Collect if there is anything to and the console is calm (or it has piled up).

        `busy`: a query is in flight; its answer is awaited, and calm starts once it is in.
        """
        if busy:
            self.touched()
        if self._saved is None:
            return False
        calm = self.clock() - self.last_input
        if self._frozen_since_sweep and (
                calm >= SWEEP_SECONDS
                or (calm >= IDLE_SECONDS and gc.get_freeze_count() > 2 * self._swept_frozen)):
            self._sweep()
            return True
        pending = self.pending()
        if not pending or (calm < IDLE_SECONDS and pending < FORCE_AFTER):
            return False
        gc.collect()
        gc.freeze()
        self._frozen_since_sweep = True
        self.collections += 1
        return True

    def _sweep(self) -> None:
        """A pass over everything, frozen objects too; what survives is frozen again."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._swept_frozen = gc.get_freeze_count()
        self._frozen_since_sweep = False
        self.sweeps += 1
