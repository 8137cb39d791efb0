"""Whether the console's terminal is still there.

A terminal that goes away (an SSH connection dropped, a tmux server killed) sends SIGHUP only to
the process that controls it. Run under a program that does not pass the signal on (`make demo`:
make waits for its child), the console never hears of it: Textual's input thread then reads
end-of-file from the dead terminal in a loop, and the process stayed behind using 40% of a core.
The app asks this once a second and leaves when the answer is yes.
"""

from __future__ import annotations

import sys

HUNG_UP = 129  # 128 + SIGHUP, as a shell reports a process the hang-up ended


def terminal_fd() -> int | None:
    """The file descriptor of the terminal the console reads keys from, if there is one."""
    stdin = sys.__stdin__
    try:
        return stdin.fileno() if stdin is not None and stdin.isatty() else None
    except (OSError, ValueError):
        return None


def hung_up(fd: int) -> bool:
    """Whether the terminal on `fd` has hung up: its settings can no longer be read."""
    try:
        import termios
    except ImportError:  # not a POSIX system: nothing to ask
        return False
    try:
        termios.tcgetattr(fd)
    except termios.error:
        return True
    return False
