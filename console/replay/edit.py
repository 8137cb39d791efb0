"""Edit-and-retry: the body in $EDITOR, validated as JSON when it was JSON, and the diff for the audit."""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import orjson

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


def edit_body(body: bytes, editor: str | None = None) -> bytes:
    """Open the body in the editor and return what was saved; refuse invalid JSON or no change."""
    command = shlex.split(editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    was_json = is_json(body)
    with tempfile.TemporaryDirectory(prefix="backroom-edit-") as folder:
        path = Path(folder) / ("message.json" if was_json else "message.txt")
        path.write_bytes(body)
        finished = subprocess.run([*command, str(path)], check=False)
        if finished.returncode != 0:
            raise UsageError(f"the editor exited with {finished.returncode}: nothing sent")
        edited = path.read_bytes()
    if edited == body:
        raise NothingChanged("the body was not changed: nothing sent")
    if was_json:
        try:
            orjson.loads(edited)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"the edited body is not valid JSON ({exc}): nothing sent") from None
    return edited


def diff(before: bytes, after: bytes) -> str:
    """A unified diff for the audit row, card numbers masked."""
    lines = difflib.unified_diff(before.decode("utf-8", "replace").splitlines(),
                                 after.decode("utf-8", "replace").splitlines(),
                                 "original", "edited", lineterm="")
    return mask_cards("\n".join(lines))[:20_000]
