"""SQL lives in `queries/sql/*.sql`, one query per file, with named `$params` that are always bound.

A query may share common table expressions with others: `{{name}}` stands for the text of
`queries/sql/name.cte.sql` (which may include others in turn). A caller may swap one shared part
for another of the same shape: `sql("sla_summary", sla_judged="sla_judged_once")`.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_INCLUDE = re.compile(r"\{\{([a-z0-9_]+)\}\}")


def _read(filename: str) -> str:
    return (resources.files("queries") / "sql" / filename).read_text(encoding="utf-8")


@cache
def sql(name: str, **swaps: str) -> str:
    """The text of `queries/sql/<name>.sql`, with its shared CTEs put in (`swaps`: part -> other part)."""
    def include(match: re.Match[str]) -> str:
        part = swaps.get(match[1], match[1])
        return _INCLUDE.sub(include, _read(f"{part}.cte.sql"))
    return _INCLUDE.sub(include, _read(f"{name}.sql"))
