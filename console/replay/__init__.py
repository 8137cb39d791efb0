"""Replay, reroute, edit and discard dead letters through a middleware runtime, safely (issue #6)."""
