"""Order and message ids found along the policy's correlation paths, in every format's records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from collectors.rows import Parser, text


def lookup(mapping: dict[str, Any] | None, path: str) -> Any:
    """A value at a dotted path: the literal key first (attribute keys have dots), then nesting."""
    if not isinstance(mapping, dict):
        return None
    if path in mapping:
        return mapping[path]
    head, dot, rest = path.partition(".")
    while dot:
        if head in mapping:
            found = lookup(mapping[head], rest)
            if found is not None:
                return found
        more_head, dot, rest = rest.partition(".")
        head = f"{head}.{more_head}"
    return None


def correlate(paths: Sequence[tuple[str, str]], sources: Mapping[str, Any]) -> str | None:
    """The first usable string along (source, key) paths, e.g. ('attributes', 'retail.order_id').

    The definition, which tests check parsers against; the parsers use `Correlation`.
    """
    for source, key in paths:
        found = text(lookup(sources.get(source), key))
        if found is not None:
            return found
    return None


class Correlation:
    """`correlate` along fixed paths, quicker for flat objects (it runs twice for every span).

    `lookup` tries the literal key, then the key's dotted prefixes as nested objects; a prefix
    that is not a key of the object cannot lead anywhere, so when none is, the answer is known.
    """

    def __init__(self, paths: Sequence[tuple[str, str]]) -> None:
        self.paths = [(source, key, _prefixes(key)) for source, key in paths]

    def __call__(self, sources: Mapping[str, Any]) -> str | None:
        for source, key, prefixes in self.paths:
            mapping = sources.get(source)
            if type(mapping) is dict:
                value = mapping.get(key, _ABSENT)
                if value is _ABSENT:
                    for prefix in prefixes:
                        if prefix in mapping:
                            value = lookup(mapping, key)
                            break
                    else:
                        continue
            else:
                value = lookup(mapping, key)
            found = text(value)
            if found is not None:
                return found
        return None


_ABSENT = object()


def _prefixes(key: str) -> tuple[str, ...]:
    """'a.b.c' -> ('a', 'a.b'): the keys `lookup` may descend into."""
    parts = key.split(".")
    return tuple(".".join(parts[:end]) for end in range(1, len(parts)))


_PREFIXES = ("attributes", "resource", "data", "headers", "properties", "body")


def split_paths(
    paths: Sequence[str], known: Sequence[str], top_level: bool = False
) -> list[tuple[str, str]]:
    """Policy paths ('data.order_id', 'subject') as (source, key) pairs for a format's sources.

    With `top_level`, a path without any format's prefix names a top-level member
    (CloudEvents `subject`, or an extension attribute) under the source "".
    """
    pairs: list[tuple[str, str]] = []
    for path in paths:
        head, _, rest = path.partition(".")
        if head in known and rest:
            pairs.append((head, rest))
        elif top_level and head not in _PREFIXES:
            pairs.append(("", path))
    return pairs



class CorrelatingParser(Parser):
    """A parser that finds order and message ids through the policy's correlation paths."""

    known: tuple[str, ...] = ()  # the path prefixes this format has (attributes., headers., ...)

    def __init__(self, source: str, policy: Any) -> None:
        super().__init__(source)
        self.order_paths = split_paths(policy.correlation.order_id, self.known)
        self.message_paths = split_paths(policy.correlation.message_id, self.known)
        self.order_of = Correlation(self.order_paths)
        self.message_of = Correlation(self.message_paths)
