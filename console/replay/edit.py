"""Edit-and-retry: the body edited (in $EDITOR or the console's editor), checked, and the diff for the audit."""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import orjson

from console.replay.plan import Request
from console.replay.runtime import UsageError
from queries.redact import mask_cards


class NothingChanged(UsageError):
    """The editor returned the body unchanged: nothing to send."""

    exit_code = 1


def is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
        return True
    except orjson.JSONDecodeError:
        return False


def must_be_json(body: bytes, content_type: str | None = None) -> bool:
    """An edit must stay valid JSON when the original was JSON or its content type says it is."""
    return is_json(body) or "json" in (content_type or "").lower()


def checked(before: bytes, edited: bytes, content_type: str | None = None) -> bytes:
    """The edited body, or a one-line refusal: unchanged, or not JSON where JSON is expected."""
    if edited == before:
        raise NothingChanged("the body was not changed: nothing sent")
    if must_be_json(before, content_type):
        try:
            orjson.loads(edited)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"the edited body is not valid JSON ({exc}): nothing sent") from None
    return edited


def edit_body(body: bytes, editor: str | None = None) -> bytes:
    """Open the body in the editor and return what was saved; refuse invalid JSON or no change."""
    command = shlex.split(editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    with tempfile.TemporaryDirectory(prefix="backroom-edit-") as folder:
        path = Path(folder) / ("message.json" if is_json(body) else "message.txt")
        path.write_bytes(body)
        finished = subprocess.run([*command, str(path)], check=False)
        if finished.returncode != 0:
            raise UsageError(f"the editor exited with {finished.returncode}: nothing sent")
        edited = path.read_bytes()
    return checked(body, edited)


def diff(before: bytes, after: bytes) -> str:
    """A unified diff for the audit row, card numbers masked."""
    lines = difflib.unified_diff(before.decode("utf-8", "replace").splitlines(),
                                 after.decode("utf-8", "replace").splitlines(),
                                 "original", "edited", lineterm="")
    return mask_cards("\n".join(lines))[:20_000]


def retry(request: Request, before: bytes, edited: bytes) -> Request:
    """The request that sends `edited` in the dead letter's place: one at a time, a new message id, the diff."""
    new_id = uuid.uuid4().hex
    return replace(request, body=edited, new_message_id=new_id, batch=1,
                   detail={**request.detail, "diff": diff(before, edited), "new_message_id": new_id})
