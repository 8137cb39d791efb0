"""The real console on a real pseudo-terminal: when the terminal goes away, the console goes too.

An SSH connection that drops, or a tmux server that is killed, hangs the terminal up; the kernel
sends SIGHUP only to the process that controls it. Under `make demo` that is make, which waits
for its child and passes nothing on. The console here is started with SIGHUP ignored, so only
its own watch on the terminal (console/terminal.py) can notice; before it, the process stayed
behind reading end-of-file in a loop.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from console.terminal import HUNG_UP, hung_up
from queries import Store

ROOT = Path(__file__).resolve().parents[1]
# Python started with SIGHUP ignored (inherited through exec, as `trap '' HUP` or nohup would),
# then the CLI as `python -m console.cli` runs it.
LAUNCH = ("import runpy, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
          "sys.argv = ['backroom', *sys.argv[1:]]; runpy.run_module('console.cli', run_name='__main__')")


def _read_until(master: int, needle: bytes, timeout: float) -> bytes:
    """What the console wrote to its terminal, up to and including `needle`."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never reached the terminal: {seen[-400:]!r}"
        ready, _, _ = select.select([master], [], [], left)
        if ready:
            seen += os.read(master, 65536)
    return seen


def test_the_console_leaves_when_its_terminal_hangs_up(tmp_path: Path) -> None:
    db = tmp_path / "backroom.duckdb"
    with Store.at(db).writing():
        pass  # an empty store: the overview opens on it
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    console = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "--db", str(db), "tui"], stdin=slave, stdout=slave,
        stderr=slave, cwd=ROOT, start_new_session=True,
        env={**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)})
    os.close(slave)
    try:
        _read_until(master, b"Overview", timeout=60)
        assert console.poll() is None
        os.close(master)  # the terminal hangs up; no SIGHUP reaches the console
        master = -1
        assert console.wait(timeout=30) == HUNG_UP
    finally:
        if master >= 0:
            os.close(master)
        if console.poll() is None:
            console.send_signal(signal.SIGKILL)
            console.wait()


def test_a_live_terminal_is_not_taken_for_a_hung_up_one() -> None:
    master, slave = pty.openpty()
    try:
        assert not hung_up(slave)
        os.close(master)
        master = -1
        assert hung_up(slave)
    finally:
        os.close(slave)
        if master >= 0:
            os.close(master)
