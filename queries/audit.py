"""The audit trail: every replay, reroute, edit and discard, who did it, and how it ended."""

from __future__ import annotations

import getpass
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
from pydantic import BaseModel

from queries.sqlfiles import sql

PAGE = 200


class Action(BaseModel):
    action_id: str
    at: datetime
    who: str
    action: str
    message_ids: list[str]
    target: str | None
    dry_run: bool
    outcome: str
    detail: Any = None
    trace_id: str | None = None


def operator() -> str:
    """Who is acting: `BACKROOM_OPERATOR`, else the login name, with the host for SSH sessions."""
    explicit = os.environ.get("BACKROOM_OPERATOR")
    if explicit:
        return explicit
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    host = os.uname().nodename if os.environ.get("SSH_CONNECTION") else None
    return f"{name}@{host}" if host else name


def record(cursor: duckdb.DuckDBPyConnection, action: str, message_ids: list[str], target: str | None,
           dry_run: bool, outcome: str, detail: Any = None, trace_id: str | None = None,
           who: str | None = None) -> Action:
    """Write one audit row (inside the caller's unit of work) and return it."""
    row = Action(action_id=uuid.uuid4().hex, at=datetime.now(UTC), who=who or operator(), action=action,
                 message_ids=message_ids, target=target, dry_run=dry_run, outcome=outcome,
                 detail=detail, trace_id=trace_id)
    cursor.execute(
        'INSERT INTO actions (action_id, "at", who, action, message_ids, target, dry_run, outcome, '
        "detail, trace_id) VALUES ($id, $at, $who, $action, $ids, $target, $dry, $outcome, $detail, $trace)",
        {"id": row.action_id, "at": row.at, "who": row.who, "action": row.action, "ids": row.message_ids,
         "target": row.target, "dry": row.dry_run, "outcome": row.outcome,
         "detail": orjson.dumps(detail).decode() if detail is not None else None, "trace": row.trace_id})
    return row


def trail(cursor: duckdb.DuckDBPyConnection, who: str | None = None, action: str | None = None,
          offset: int = 0, limit: int = PAGE, since: datetime | None = None) -> list[Action]:
    """Actions newest first, of one operator or kind, at or after `since`."""
    cursor.execute(sql("audit_list"), {"who": who, "action": action, "since": since, "offset": offset,
                                       "limit": limit})
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    for row in rows:
        row["detail"] = orjson.loads(row["detail"]) if row["detail"] else None
    return [Action(**row) for row in rows]
