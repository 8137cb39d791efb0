"""Every failure becomes one line on stderr and an exit code; no traceback reaches a user."""

from __future__ import annotations

import os
import select
import sys
import traceback
from collections.abc import Callable
from typing import Any, Protocol

import duckdb

from console.safe_text import inert_line
from queries.errors import BackroomError


class ClickCommand(Protocol):
    """What run_safely needs of the command Typer builds (Typer carries its own copy of click)."""

    def main(self, *, args: list[str] | None = None, prog_name: str | None = None,
             standalone_mode: bool = True) -> Any: ...


INTERRUPTED = "interrupted (what was committed before is kept; run the command again to go on)"
# What a shell reports for a writer whose reader went away (128 + SIGPIPE): `backroom … | head`.
PIPE_CLOSED = 141


def _say(message: str) -> None:
    sys.stderr.write(f"backroom: {inert_line(message)}\n")
    sys.stderr.flush()


class UnknownKey(BackroomError):
    """A key (order, dead letter) the store does not know: exit 1, as a failed check."""

    exit_code = 1


def run_safely(command: ClickCommand, args: list[str] | None = None) -> int:
    """Run the click command; map usage, domain and unexpected errors to exit codes 2 (or 1/130)."""
    import typer

    def click_main() -> int:
        try:
            result = command.main(args=args, prog_name="backroom", standalone_mode=False)
        except typer.Exit as done:
            return done.exit_code
        except typer.Abort:
            _say("interrupted")
            return 130
        except SystemExit:
            # click answers a closed output pipe with exit(1), the code of a failed check
            if stdout_gone():
                return pipe_closed()
            raise
        if result == 130:  # Typer's answer to Ctrl-C in a command, without a word
            _say(INTERRUPTED)
        return result if isinstance(result, int) else 0

    return guarded(click_main)


def guarded(run: Callable[[], int]) -> int:
    """Run a command; a domain, store, file or unexpected error becomes one line and an exit code."""
    try:
        return run()
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except RuntimeError as error:
        if "interrupted" not in str(error).lower():
            return _unexpected(error)
        # Ctrl-C while DuckDB runs a statement: DuckDB stops it and raises this instead
        _say(INTERRUPTED)
        return 130
    except BrokenPipeError as error:
        if stdout_gone():
            return pipe_closed()
        return _os_error(error)
    except BackroomError as error:
        _say(str(error))
        return error.exit_code
    except duckdb.Error as error:
        _say(f"store error: {str(error).splitlines()[0]}")
        return 2
    except OSError as error:
        return _os_error(error)
    except Exception as error:  # noqa: BLE001 (click's usage errors, then the last line of defence)
        if hasattr(error, "format_message") and hasattr(error, "exit_code"):
            return _usage(error)
        return _unexpected(error)


def _os_error(error: OSError) -> int:
    _say(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))
    return 2


def stdout_gone() -> bool:
    """Whether the reader of stdout went away (a pipe closed at its other end).

    A broken pipe can also be a socket to a broker or a runtime, which is a real failure: only
    this says the command's output is what broke.
    """
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll(), or stdout is not a file
        return False


def pipe_closed() -> int:
    """End quietly when the reader stopped reading: no message, and stdout pointed at /dev/null
    so that Python's own flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return PIPE_CLOSED


def flushed(code: int) -> int:
    """Flush stdout before exiting, so that output still buffered meets a closed pipe here."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return pipe_closed()
    return code


def _unexpected(error: Exception) -> int:
    """The last line of defence: still one line, with the cause."""
    if os.environ.get("BACKROOM_DEBUG"):
        traceback.print_exc()
    _say(f"internal error: {type(error).__name__}: {error} (set BACKROOM_DEBUG=1 for details)")
    return 2


def _usage(error: Exception) -> int:
    """Typer vendors click, so its usage errors are recognised by shape, not by class."""
    ctx = getattr(error, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _say(f"{error.format_message()}{where}")  # type: ignore[attr-defined]
    return int(getattr(error, "exit_code", 2))
