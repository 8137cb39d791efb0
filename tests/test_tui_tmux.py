"""The real console in a real terminal (tmux): hostile bytes in a dead letter never reach the terminal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_tui_helpers import add_hostile_dead_letter


def test_tmux_is_there_to_drive_the_real_terminal() -> None:
    """Without tmux the escape-sequence test below cannot run: fail loudly rather than skip."""
    assert shutil.which("tmux"), "the terminal-security tests need tmux: apt-get install tmux"
ROOT = Path(__file__).resolve().parents[1]
SGR = re.compile(r"\x1b\[[0-9;:]*m")  # colours and styles: the only escapes tmux re-emits for a capture
TITLE = "calm-pane-title"


class Pane:
    """One tmux server of our own (a private socket), one session, one pane running the console."""

    def __init__(self, socket: str, exit_file: Path) -> None:
        self.socket = socket
        self.exit_file = exit_file  # the console's exit status, written by the shell around it

    @property
    def running(self) -> bool:
        return not self.exit_file.exists() and self.show("pane_dead") == "0"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=True, timeout=20).stdout

    def show(self, key: str) -> str:
        return self.tmux("display-message", "-p", "-t", "console", f"#{{{key}}}").strip()

    def raw(self) -> str:
        return self.tmux("capture-pane", "-p", "-e", "-t", "console")

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "console")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "console", *(["-l"] if literal else []), *keys)

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        """Poll the pane (a real terminal has no message to wait on) until `needle` shows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            assert self.running, f"the console exited:\n{screen}"
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} never showed:\n{self.text()}")

    def open_prompt(self) -> None:
        """Press ':' until the command line shows (keys sent while the terminal starts up can be lost)."""
        for _attempt in range(20):
            self.keys(":")
            try:
                self.wait_for("esc close", timeout=1.0)
                return
            except AssertionError:
                continue
        raise AssertionError(f"the command line never opened:\n{self.text()}")

    def click(self, needle: str) -> None:
        """Press and release the left button on the first cell of `needle` (SGR mouse, as xterm sends it)."""
        for row, line in enumerate(self.text().splitlines(), start=1):
            column = line.find(needle)
            if column >= 0:
                for final in ("M", "m"):
                    sequence = f"\x1b[<0;{column + 2};{row}{final}".encode()
                    self.tmux("send-keys", "-t", "console", "-H", *[f"{byte:02x}" for byte in sequence])
                return
        raise AssertionError(f"{needle!r} is not on screen")


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    db = tmp_path / "backroom.duckdb"
    add_hostile_dead_letter(db)
    socket = f"backroom-test-{uuid.uuid4().hex[:8]}"
    server = Pane(socket, tmp_path / "exit-status")
    command = (f"cd {tmp_path} && {sys.executable} -m console.cli --db {db} tui --screen audit; "
               f"echo $? > {server.exit_file}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "console",
                    "-x", "160", "-y", "48", command], check=True, env=env, timeout=20)
    try:
        server.tmux("set-option", "-g", "set-clipboard", "on")  # an OSC 52 that got through would land here
        server.tmux("select-pane", "-t", "console", "-T", TITLE)
        yield server
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False, capture_output=True, timeout=20)


def _only_styles(raw: str) -> str:
    """What is left of a raw capture once the colour/style escapes tmux itself writes are removed."""
    return SGR.sub("", raw)


def test_hostile_dead_letter_reaches_the_screen_inert(pane: Pane) -> None:
    pane.wait_for("No actions yet")
    assert pane.show("pane_title") == TITLE
    pane.open_prompt()
    pane.keys("message hostile-1", literal=True)
    pane.keys("Enter")
    screen = pane.wait_for("not json:")

    # the placeholders are visible where the escapes were, and the markup is literal text
    assert "␛]0;pwned␇" in screen and "␛[2J" in screen and "␛]52;c;cHduZWQ=␇" in screen
    assert "[@click=app.quit]click me[/]" in screen and "[bold red]loud[/]" in screen
    assert "erp.orders.dlq␛]0;pwned␇" in screen  # the queue name too
    assert "**** **** **** 1111" in screen and "4111 1111 1111 1111" not in screen

    # nothing but colour escapes reached the terminal; the title and the clipboard are untouched
    left = _only_styles(pane.raw())
    assert "\x1b" not in left and "\x07" not in left and "\x9b" not in left and "\x9d" not in left
    assert "pwned" not in pane.show("pane_title") and pane.show("pane_title") == TITLE
    assert pane.tmux("list-buffers").strip() == ""

    # clicks reach the app (a tab opens), but the injected "action" does nothing; keys still work
    pane.click("[@click=app.quit]")
    pane.click("Headers 4")
    screen = pane.wait_for("x-note:")
    assert "␛]0;pwned␇" in screen and "[@click=app.quit]" in screen and "x-card: **** **** **** 1111" in screen
    pane.click("[@click=app.quit]")
    for key in ("y", "b", "Down", "Tab", "o"):
        pane.keys(key)
    # its order is known only by this dead letter: the journey opens on what backroom holds
    screen = pane.wait_for("no state reached yet")
    assert "Order ORD-EVIL" in screen and "1 dead letter" in screen
    assert "\x1b" not in _only_styles(pane.raw())
    pane.keys("Escape")
    pane.wait_for("not json:")
    assert pane.running
    assert "\x1b" not in _only_styles(pane.raw()) and pane.show("pane_title") == TITLE
    assert pane.tmux("list-buffers").strip() == ""

    pane.keys("C-q")
    deadline = time.monotonic() + 15
    while not pane.exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pane.exit_file.read_text().strip() == "0"  # ctrl+q: a clean exit, no traceback
