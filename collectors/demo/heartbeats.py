"""Store heartbeats: each store's back-office server reports every quarter of an hour, day and night.

They are what makes a quiet store mean something: a store that trades little still beats, so only
one that is cut off goes quiet. The offline store's beats are lost while it is cut off (they are
not journaled like its sales), and the silent store's stop when its uplink goes down at the end.
"""

from __future__ import annotations

import heapq
from random import Random

import orjson

from collectors.demo.clock import MINUTE, SECOND
from collectors.demo.cloudevents import uuid4
from collectors.demo.context import Context, store_source

HEARTBEAT = "store.heartbeat"
EVERY = 15 * MINUTE


class Heartbeats:
    """Writes every store's heartbeats up to a given time, in time order."""

    def __init__(self, ctx: Context, seed: int) -> None:
        self.ctx = ctx
        # a stream of their own, so that the orders' stories do not move with the number of stores
        self.rng = Random(f"backroom-demo-heartbeats-{seed}")
        start = ctx.windows.aged_start
        self._due = [(start + int(EVERY * self.rng.random()), store)
                     for store in ctx.catalog.stores]
        heapq.heapify(self._due)

    def until(self, at: int) -> None:
        """Write the beats due up to `at`."""
        due, rng = self._due, self.rng
        while due and due[0][0] <= at:
            beat, store = due[0]
            if self._heard(store, beat):
                data = orjson.dumps({"store_id": store, "tills_online": 2 + int(5 * rng.random())})
                recorded = beat + int(2 * SECOND * rng.random())
                self.ctx.events.emit(HEARTBEAT, store_source(store), None, beat, recorded, None,
                                     None, "pos", data.decode(), uuid4(rng))
            heapq.heapreplace(due, (beat + EVERY - 30 * SECOND + int(MINUTE * rng.random()), store))

    def _heard(self, store: str, at: int) -> bool:
        catalog = self.ctx.catalog
        if store == catalog.silent_store and at >= catalog.silent_from:
            return False
        return not self.ctx.offline(store, at)
