"""The one door to DuckDB: attach the store per unit of work, retry on the lock, migrate the schema.

DuckDB lets one process hold a file at a time and fails at once when another holds it
(SCALE.md section 1). So no process keeps the store open while idle: each process keeps
one in-memory DuckDB instance and ATTACHes the file for a unit of work (read-only for
queries, read-write for ingest and actions), then DETACHes, which releases the lock.
Threads of one process share the attachment and each get their own cursor.

DuckDB's lock does not queue: a process that re-attaches the moment its unit is done (a bulk
ingest) would win every time against one that retries every few milliseconds (the console),
which then waits for the whole ingest. So whoever waits for the lock holds a turnstile, an
advisory lock on a file beside the store, and every attach passes the turnstile first: the
ingest's next unit starts once the waiting console has had its turn.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import duckdb

try:
    import fcntl
except ImportError:  # not a POSIX system: attaching falls back to retrying alone
    fcntl = None  # type: ignore[assignment]

from queries import extensions, schema
from queries.errors import StoreBusy, StoreMissing

DEFAULT_LOCK_TIMEOUT = 5.0
_ALIAS = "store"
TURNSTILE = ".turnstile"  # the suffix of the file beside the store that orders waiting processes
_LOCK_TEXT = "Could not set lock"
# A new store is written in DuckDB's v1.2.0 storage format (DuckDB 1.2 and later read it; every
# backroom process runs 1.5.5, SCALE.md). In the default v1.0.0 format each checkpoint, and so
# each release of the store, converts the whole primary-key index to the old layout: with 3M
# spans a one-batch unit of work spent 0.43-0.48 s detaching, against 0.09-0.15 s. A store
# made before keeps its format; DuckDB cannot lower a store's format, so only new files ask.
NEW_STORE_FORMAT = "v1.2.0"
_HOLDER = re.compile(r"held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def default_path() -> Path:
    """The store file: `BACKROOM_DB`, else `./backroom.duckdb`."""
    return Path(os.environ.get("BACKROOM_DB", "backroom.duckdb"))


def lock_timeout_from_env() -> float:
    """How long to wait for another process's lock (`BACKROOM_LOCK_TIMEOUT`, seconds)."""
    raw = os.environ.get("BACKROOM_LOCK_TIMEOUT")
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


class Store:
    """One DuckDB store file, attached per unit of work; use `Store.at(path)` to share it."""

    _registry: ClassVar[dict[Path, Store]] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: Path, lock_timeout: float | None = None) -> None:
        self.path = path
        self.lock_timeout = lock_timeout_from_env() if lock_timeout is None else lock_timeout
        self._db = duckdb.connect(":memory:", config=extensions.connection_config())
        self._db.execute("SET enable_progress_bar = false")
        # GLOBAL: a plain SET holds for this connection only, and every unit of work runs on a
        # cursor, which would see the machine's zone (hour buckets, offsets in what is printed).
        self._db.execute("SET GLOBAL TimeZone = 'UTC'")
        self._cond = threading.Condition()
        self._mode: str | None = None  # None, "ro" or "rw"
        self._users = 0
        self._schema_checked = False
        # Threads of one process share the attachment: only one of them migrates a new store
        # (`collect` starts its receiver and its file follower at once).
        self._migrating = threading.Lock()

    @classmethod
    def at(cls, path: str | os.PathLike[str] | None = None) -> Store:
        """The process's one Store for this file (DuckDB refuses two attachments of one file)."""
        resolved = Path(path if path is not None else default_path()).expanduser().resolve()
        with cls._registry_lock:
            store = cls._registry.get(resolved)
            if store is None:
                store = cls._registry[resolved] = cls(resolved)
            return store

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def own_files(self) -> tuple[Path, ...]:
        """The store file and the files DuckDB and the turnstile keep beside it."""
        return (self.path, *(self.path.with_name(self.path.name + end)
                             for end in (".wal", TURNSTILE)))

    @contextmanager
    def reading(self, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the store, attached read-only (or sharing this process's write attachment)."""
        if not self.path.exists():
            raise StoreMissing(
                f"no store at {self.path}: run 'backroom demo' or 'backroom ingest' first"
            )
        for _ in range(2):
            with self._attached("ro", timeout):
                cursor = self._db.cursor()
                try:
                    cursor.execute(f"USE {_ALIAS}")
                    # the schema is checked in the same attachment: attaching a large file costs
                    if not self._schema_checked:
                        current = schema.version_of(cursor)
                        schema.refuse_newer(current, self.path)
                        self._schema_checked = current >= schema.LATEST
                    if self._schema_checked:
                        yield cursor
                        return
                finally:
                    cursor.close()
            with self.writing(timeout):
                pass  # an older schema: migrating happens on the first write attachment

    @contextmanager
    def writing(
        self, timeout: float | None = None, transaction: bool = True,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor in one transaction on the store, attached read-write; commits on success.

        `transaction=False` gives an autocommit cursor, for maintenance (such as rebuilding the
        fts index) that DuckDB cannot commit as part of a larger transaction.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._attached("rw", timeout):
            cursor = self._db.cursor()
            try:
                cursor.execute(f"USE {_ALIAS}")
                if not self._schema_checked:
                    with self._migrating:
                        if not self._schema_checked:
                            schema.migrate(cursor)
                            self._schema_checked = True
                if not transaction:
                    yield cursor
                    return
                cursor.execute("BEGIN TRANSACTION")
                try:
                    yield cursor
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def limit_threads(self, threads: int) -> None:
        """Cap the threads DuckDB uses for this process's work on every store it attaches."""
        self._db.execute(f"SET threads = {int(threads)}")

    def threads(self) -> int:
        """The threads DuckDB may use for this process's work."""
        return self._setting("threads")

    def write_buffer(self) -> int:
        """The full row groups DuckDB holds back in a large insert, to compress them together."""
        return self._setting("write_buffer_row_group_count")

    def _setting(self, name: str) -> int:
        row = self._db.execute("SELECT current_setting($name)", {"name": name}).fetchone()
        return int(row[0]) if row else 1

    @contextmanager
    def threads_limited(self, threads: int) -> Iterator[None]:
        """DuckDB's threads capped at `threads` for what runs inside, then as they were.

        A large insert holds back up to five full row groups (`write_buffer_row_group_count`) so
        that several threads compress them at once, at the next fifth or at the commit. Held to
        fewer threads, it holds back as many groups as it has threads: each is then compressed and
        written once full, while the caller's other work goes on, rather than all of them in the
        commit. The last unit of work of a parallel ingest (900k spans) committed in 1.7 s after
        the workers were done, one core idle; in 0.7 s holding back one group.
        """
        before, buffered = self.threads(), self.write_buffer()
        if before <= threads:
            yield
            return
        self.limit_threads(threads)
        self._db.execute(f"SET write_buffer_row_group_count = {min(buffered, int(threads))}")
        try:
            yield
        finally:
            self.limit_threads(before)
            self._db.execute(f"SET write_buffer_row_group_count = {buffered}")

    def load_extension(self, name: str) -> None:
        """Load an extension installed from its wheel into the app's own directory (no downloads)."""
        extensions.load(self._db, name)

    @contextmanager
    def _attached(self, mode: str, timeout: float | None) -> Iterator[None]:
        with self._cond:
            # A reader may share a write attachment; a writer waits until readers are done.
            while self._mode is not None and not (self._mode == "rw" or mode == self._mode):
                self._cond.wait()
            if self._mode is None:
                self._attach(mode, self.lock_timeout if timeout is None else timeout)
                self._mode = mode
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._db.execute("USE memory")
                    self._db.execute(f"DETACH {_ALIAS}")
                    self._mode = None
                    self._cond.notify_all()

    def _attach(self, mode: str, timeout: float) -> None:
        options = " (READ_ONLY)" if mode == "ro" else ""
        if mode == "rw" and not self.path.exists():
            options = f" (STORAGE_VERSION '{NEW_STORE_FORMAT}')"
        sql = f"ATTACH '{_quote(self.path)}' AS {_ALIAS}{options}"
        deadline = time.monotonic() + timeout
        with _turnstile(self.path, deadline):
            while True:
                try:
                    self._db.execute(sql)
                    return
                except duckdb.IOException as exc:
                    if _LOCK_TEXT not in str(exc):
                        raise
                    if time.monotonic() >= deadline:
                        raise StoreBusy(_busy_message(self.path, str(exc), timeout)) from None
                _back_off()


@contextmanager
def _turnstile(store: Path, deadline: float) -> Iterator[None]:
    """Hold the store's turnstile while waiting for its lock.

    The turnstile is an exclusive flock on `<store>.turnstile`, held from before the first
    attempt to attach until the attach succeeded or gave up. A process that has just let go of
    the store passes it before attaching again, so it waits while another process waits. Past
    the deadline, or without the file (a read-only folder, a system without flock), attaching
    goes on without it.
    """
    try:
        handle = os.open(f"{store}{TURNSTILE}", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        handle = None
    try:
        while handle is not None and fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                _back_off()
            except OSError:
                break  # a file system without flock: attaching only retries
        yield
    finally:
        if handle is not None:
            os.close(handle)  # releases the flock


def _back_off() -> None:
    # With jitter, so that two waiting processes do not retry in step.
    time.sleep(random.uniform(0.005, 0.02))


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _busy_message(path: Path, error: str, timeout: float) -> str:
    holder = _HOLDER.search(error)
    if holder is None:
        who = "another process"
    else:
        who = f"PID {holder['pid']} ({_command_of(holder['pid']) or holder['exe']})"
    return f"store {path} is busy: {who} holds it; gave up after {timeout:g} s"


def _command_of(pid: str, longest: int = 80) -> str | None:
    """The holder's command line as a person would know it ("backroom ingest events.jsonl"),
    not the interpreter DuckDB names; None where /proc does not tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    args = [arg.decode("utf-8", errors="replace") for arg in raw.split(b"\0") if arg]
    if len(args) > 1 and Path(args[0]).name.startswith("python") and not args[1].startswith("-"):
        args = args[1:]  # a script run by its interpreter, as console scripts are
    if not args:
        return None
    text = " ".join([Path(args[0]).name, *args[1:]])
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text if len(text) <= longest else text[: longest - 1] + "…"
