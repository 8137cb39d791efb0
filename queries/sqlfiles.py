"""SQL lives in `queries/sql/*.sql`, one query per file, with named `$params` that are always bound.

A query may share common table expressions with others: `{{name}}` stands for the text of
`queries/sql/name.cte.sql`.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_INCLUDE = re.compile(r"\{\{([a-z0-9_]+)\}\}")


def _read(filename: str) -> str:
    return (resources.files("queries") / "sql" / filename).read_text(encoding="utf-8")


@cache
def sql(name: str) -> str:
    """The text of `queries/sql/<name>.sql`, with its shared CTEs put in."""
    return _INCLUDE.sub(lambda match: _read(f"{match[1]}.cte.sql"), _read(f"{name}.sql"))
