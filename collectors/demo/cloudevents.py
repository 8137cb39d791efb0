"""CloudEvents 1.0 structured-mode JSON events, one per line or a JSON array line per batch.

Events are rendered from a template; `data` arrives already serialised by orjson and the
other values placed raw are generated as safe ASCII (UUIDs, hex ids, fixed sources).
"""

from __future__ import annotations

from random import Random

from collectors.demo.clock import Rfc3339
from collectors.demo.writers import RotatingJsonl

_BLOCK_LINES = 1024
Made = tuple[str, str]
"""A rendered event: its type and its JSON text."""


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid4(rng: Random) -> str:
    """A random RFC 4122 version-4 UUID string drawn from `rng` (so runs repeat)."""
    text = rng.getrandbits(128).to_bytes(16, "little").hex()
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"


class EventSink:
    """Renders events and writes them; one the middleware had not recorded by `now` is dropped."""

    def __init__(self, writer: RotatingJsonl, now: int, rng: Random) -> None:
        self.writer = writer
        self.now = now
        self.rng = rng
        self.rfc3339 = Rfc3339()
        self.total = 0
        self.by_type: dict[str, int] = {}
        self._lines: list[str] = []
        self._items = 0
        self._kinds: dict[str, int] = {}
        self._limit = 0  # lines to buffer before the next hand-over; 0 until the first

    def make(self, kind: str, source: str, subject: str | None, at: int, recorded: int,
             trace: str | None, span: str | None, channel: str, data: str,
             event_id: str | None = None) -> Made | None:
        """One event (epoch microseconds; `data` as JSON text), or None when it lies after `now`.

        Without a trace the event has no `traceparent`: it was not sent in a traced call. Without
        an id it gets one drawn from the sink's random stream.
        """
        event_id = event_id or uuid4(self.rng)
        if recorded > self.now:
            return None
        subject_member = f'"subject":"{subject}",' if subject is not None else ""
        trace_member = f'"traceparent":"00-{trace}-{span}-01",' if trace is not None else ""
        rfc3339 = self.rfc3339
        return kind, (
            f'{{"specversion":"1.0","id":"{event_id}","source":"{source}","type":"{kind}",'
            f'{subject_member}"time":"{rfc3339(at)}","datacontenttype":"application/json",'
            f'{trace_member}"channel":"{channel}",'
            f'"recordedtime":"{rfc3339(recorded)}","data":{data}}}')

    def emit(self, kind: str, source: str, subject: str | None, at: int, recorded: int,
             trace: str | None, span: str | None, channel: str, data: str,
             event_id: str | None = None) -> bool:
        """Make and write one event on its own line; False when it lies after `now`."""
        made = self.make(kind, source, subject, at, recorded, trace, span, channel, data,
                         event_id)
        if made is None:
            return False
        self._lines.append(made[1])
        self._items += 1
        kinds = self._kinds
        kinds[kind] = kinds.get(kind, 0) + 1
        if len(self._lines) >= self._limit:
            self.flush()
        return True

    def write(self, event: Made | None) -> None:
        """Write one event on its own line."""
        if event is None:
            return
        self._lines.append(event[1])
        self._items += 1
        kinds = self._kinds
        kinds[event[0]] = kinds.get(event[0], 0) + 1
        if len(self._lines) >= self._limit:
            self.flush()

    def write_batch(self, events: list[Made | None]) -> None:
        """Write events as one JSON array line (a batch), or alone when only one is left."""
        present = [event for event in events if event is not None]
        if len(present) < 2:
            for event in present:
                self.write(event)
            return
        self._lines.append(f"[{','.join(text for _, text in present)}]")
        for kind, _ in present:
            self._tally(kind)
        if len(self._lines) >= self._limit:
            self.flush()

    def _tally(self, kind: str) -> None:
        self._items += 1
        self._kinds[kind] = self._kinds.get(kind, 0) + 1

    def flush(self, final: bool = False) -> None:
        """Hand the buffered lines to the writer, never more than fit in the current file."""
        if self._lines:
            block = ("\n".join(self._lines) + "\n").encode()
            self.writer.write_block(block, len(self._lines), self._items, self._kinds)
            self.total += self._items
            for kind, count in self._kinds.items():
                self.by_type[kind] = self.by_type.get(kind, 0) + count
            self._lines, self._items, self._kinds = [], 0, {}
        if not final:
            self._limit = min(_BLOCK_LINES, self.writer.room())
