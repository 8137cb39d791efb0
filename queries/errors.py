"""Domain errors: each names its cause in one line, so the faces can print it as it is."""

from __future__ import annotations


class BackroomError(Exception):
    """A failure a user can act on; `str()` is the one line we show."""

    exit_code = 2


class StoreBusy(BackroomError):
    """Another process held the store's lock past our deadline."""


class StoreMissing(BackroomError):
    """The store file does not exist yet."""


class StoreIncompatible(BackroomError):
    """The store was written by a newer backroom, or is not a backroom store."""


class PolicyError(BackroomError):
    """The policy file is invalid: names the key and the reason."""
