"""The CLI as a user runs it: a whole process, its stdout, its one-line errors and its exit codes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "collect"
CONTRACT_COMMANDS = ["demo", "ingest", "collect", "tui", "order", "search", "sla", "lag", "dlq",
                     "audit", "policy"]


def backroom(*args: str, cwd: Path | None = None, tz: str | None = None,
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", **({"TZ": tz} if tz else {})}
    return subprocess.run([sys.executable, "-m", "console.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300, check=False)


def test_help_lists_every_command_of_the_contract() -> None:
    result = backroom("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert set(CONTRACT_COMMANDS) <= listed
    assert "--db" in result.stdout and "--version" in result.stdout


def test_version() -> None:
    result = backroom("--version")
    assert result.returncode == 0 and result.stdout.startswith("backroom ")


@pytest.mark.parametrize("args, says", [
    (["--bogus"], "No such option: --bogus"),
    (["ingest"], "Missing argument 'paths'"),
    (["demo", "--orders", "many"], "'--orders'"),
    (["dlq", "replay"], "name dead letters by id"),
    (["sla", "report", "--at", "yesterday"], "--at 'yesterday' is not a time"),
    (["lag", "--by", "planet"], "'--by'"),
    (["search", " "], "give something to search for"),  # an empty shell variable
    (["ingest", "-", "-"], "standard input can be read once: give '-' once"),
    (["ingest", "--jobs", "0", "x.jsonl"], "'--jobs'"),
    (["audit", "--since", "yesterday"], "--since: 'yesterday' is not a duration"),
    # a device is not read to its end (/dev/zero has none), only a pipe is
    (["ingest", "/dev/zero"], "cannot read /dev/zero: not a regular file"),
])
def test_usage_errors_are_one_line_on_stderr_with_exit_code_2(args: list[str], says: str) -> None:
    result = backroom(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("backroom: ") and says in lines[0]


def piped(*args: str, data: bytes, home: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COLUMNS": "120", "BACKROOM_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "console.cli", *args], input=data, capture_output=True,
                          env=env, timeout=300, check=False)


def test_ingest_dash_reads_standard_input_and_keeps_it_only_while_rejects_point_into_it(
        tmp_path: Path) -> None:
    db, home = str(tmp_path / "store.duckdb"), tmp_path / "home"
    kcat = (FIXTURES / "connect-dlq.kcat.jsonl").read_bytes()  # kcat -J ... | backroom ingest -
    broken = kcat.rstrip(b"\n") + b"\nnot json\n"
    lines = broken.count(b"\n")

    first = piped("--db", db, "ingest", "-", "--json", data=broken, home=home)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["sources"][0]["format"] == "kafka-dlq" and report["rows"]["dlq_messages"] > 0
    kept = Path(report["sources"][0]["path"])
    assert kept.parent == home / "stdin" and kept.read_bytes() == broken
    assert f"standard input is kept as {kept} (1 reject points into it)" in first.stderr.decode()
    rejected = json.loads(piped("--db", db, "rejects", "--json", data=b"", home=home).stdout)["rejects"]
    assert [(r["source"], r["line"]) for r in rejected] == [(str(kept), lines)]
    assert kept.read_bytes().splitlines()[lines - 1] == b"not json"  # the line it names

    again = json.loads(piped("--db", db, "ingest", "-", "--json", data=broken, home=home).stdout)
    assert sum(again["rows"].values()) == 0 and again["skipped_duplicates"] == report["records"] - 1
    assert list((home / "stdin").iterdir()) == [kept]  # the same stream is the same file

    clean = piped("--db", db, "ingest", "-", data=(FIXTURES / "orders-dlq.json").read_bytes(), home=home)
    assert clean.returncode == 0 and " 0 rejects" in clean.stdout.decode()
    assert list((home / "stdin").iterdir()) == [kept]  # stored whole: nothing points into it

    empty = piped("--db", db, "ingest", "-", data=b"", home=home)
    assert empty.returncode == 0 and "standard input was empty" in empty.stderr.decode()

    (tmp_path / "not-a-folder").write_text("")
    nowhere = piped("--db", db, "ingest", "-", data=broken, home=tmp_path / "not-a-folder")
    assert nowhere.returncode == 2 and nowhere.stderr.decode().splitlines() == [
        f"backroom: cannot save standard input in {tmp_path / 'not-a-folder' / 'stdin'}: Not a directory"]


def test_ingest_reads_a_pipe_named_as_a_path_like_standard_input(tmp_path: Path) -> None:
    # backroom ingest <(zcat orders-dlq.json.gz): the shell names a pipe, /dev/fd/N, which can be
    # read once and not seeked; it is saved first, as '-' is.
    home = tmp_path / "home"
    data = (FIXTURES / "connect-dlq.kcat.jsonl").read_bytes().rstrip(b"\n") + b"\nnot json\n"
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "console.cli", "--db", str(tmp_path / "s.duckdb"), "ingest",
             f"/dev/fd/{read_end}", "--json"], pass_fds=(read_end,), capture_output=True,
            text=True, env={**os.environ, "BACKROOM_HOME": str(home)}, timeout=120, check=False)
    finally:
        os.close(read_end)
        writer.join()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    kept = Path(report["sources"][0]["path"])
    assert report["sources"][0]["format"] == "kafka-dlq" and report["rows"]["dlq_messages"] > 0
    assert report["rejects"] == 1 and kept.read_bytes() == data
    assert f"/dev/fd/{read_end} is kept as {kept} (1 reject points into it)" in result.stderr


def test_ingest_dash_from_a_terminal_says_to_pipe_instead_of_waiting(tmp_path: Path) -> None:
    main, side = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "console.cli", "--db", str(tmp_path / "s.duckdb"),
                                 "ingest", "-"], stdin=side, capture_output=True, text=True, timeout=60,
                                check=False)
    finally:
        os.close(main)
        os.close(side)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [(
        "backroom: Invalid value for 'PATHS': standard input is a terminal: pipe the data in, e.g. "
        "kcat -C -J -e -t orders.dlq | backroom ingest - (see 'backroom ingest --help')")]


def test_a_missing_store_is_one_line(tmp_path: Path) -> None:
    result = backroom("--db", str(tmp_path / "none.duckdb"), "ingest", str(tmp_path / "absent.jsonl"))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "absent.jsonl" in result.stderr


def test_policy_show_prints_the_effective_policy_with_overrides(tmp_path: Path) -> None:
    (tmp_path / "backroom.toml").write_text('[inventory]\nstale_after = "20m"\n')
    result = backroom("policy", "show", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout)
    assert effective["inventory"]["stale_after"] == "PT20M"
    assert effective["states"]["shipment.confirmed"] == "shipped"
    assert {rule["name"] for rule in effective["sla"]} >= {"capture-to-reserve", "ship-to-invoice"}
    text = backroom("policy", "show", cwd=tmp_path).stdout
    assert 'stale_after = "20m"' in text and "[[sla]]" in text


def test_an_invalid_policy_is_refused_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sla]]\nname = "x"\nfrom = "captured"\nto = "teleported"\nwithin = "5m"\n')
    result = backroom("--config", str(bad), "policy", "show")
    assert result.returncode == 2
    assert "key sla.0.to" in result.stderr and "unknown state 'teleported'" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_second_demo_into_the_same_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    # Two builds at once overwrote each other's estate and building file; the loser failed with
    # "Catalog Error: Table with name search_docs does not exist!".
    first = subprocess.Popen([sys.executable, "-m", "console.cli", "demo", "--orders", "20000",
                              "--db", str(tmp_path / "a.duckdb"), "--no-tui"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not (tmp_path / "demo-estate").exists() and first.poll() is None:
            os.sched_yield()  # the first build has its lock before it writes the estate
        second = backroom("demo", "--orders", "10", "--db", str(tmp_path / "b.duckdb"), "--no-tui")
        assert second.returncode == 2 and second.stderr.splitlines() == [(
            f"backroom: another backroom demo is building in {tmp_path}; wait for it to finish, "
            "or pass --db to build in another folder")]
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert not (tmp_path / "b.duckdb").exists()
    again = backroom("demo", "--orders", "10", "--db", str(tmp_path / "b.duckdb"), "--no-tui")
    assert again.returncode == 0, again.stderr  # the folder is free once the first is done


def test_demo_builds_an_estate_through_the_collectors_quarantining_only_what_it_damaged(
        tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    result = backroom("demo", "--orders", "400", "--seed", "3", "--db", str(db), "--no-tui")
    assert result.returncode == 0, result.stderr
    planted = json.loads((tmp_path / "demo-estate" / "manifest.json").read_text())["quarantine"]
    assert "demo estate: " in result.stdout and f" {len(planted['rejects'])} rejects" in result.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        orders, = con.execute("SELECT count(DISTINCT order_id) FROM events").fetchone()
        spans, = con.execute("SELECT count(*) FROM spans").fetchone()
        dead, = con.execute("SELECT count(*) FROM dlq_messages").fetchone()
        rejects, = con.execute("SELECT count(*) FROM rejects").fetchone()
    assert orders >= 400 and spans > orders and dead > 0 and rejects == len(planted["rejects"]) == 5
    assert f"{orders:,} orders" in result.stdout
    # the store is built beside the real one and renamed: nothing of it is left behind
    assert sorted(path.name for path in tmp_path.iterdir()
                  if path.name.startswith("demo.duckdb")) == ["demo.duckdb"]

    estate = tmp_path / "demo-estate"
    again = backroom("--db", str(db), "ingest", *(str(estate / part) for part in ("traces", "events", "dlq")),
                     "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert sum(report["rows"].values()) == 0 and report["skipped_duplicates"] > 0


def test_demo_never_overwrites_a_store_it_did_not_build(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE precious AS SELECT 42 AS answer")
    result = backroom("demo", "--orders", "50", "--db", str(db), "--no-tui")
    assert result.returncode == 2
    assert "did not make" in result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT answer FROM precious").fetchone() == (42,)


def test_ctrl_c_in_a_command_says_so_in_one_line_and_exits_130(
        capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from console.errors import run_safely

    app = typer.Typer()

    @app.command()
    def ingest() -> None:
        raise KeyboardInterrupt  # Ctrl-C while the command runs

    @app.command()
    def other() -> None:
        pass

    code = run_safely(typer.main.get_command(app), ["ingest"])

    assert code == 130
    assert capsys.readouterr().err == (
        "backroom: interrupted (what was committed before is kept; run the command again to go "
        "on)\n")


def read_terminal(master: int) -> bytes:
    """Everything written to a pty until the command closed it; closes `master`."""
    screen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        screen += data
    os.close(master)
    return screen


def _at_a_terminal(*args: str) -> tuple[str, str]:
    """(stdout, what reached the terminal on stderr) of `backroom ARGS` with stderr on a pty."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "console.cli", *args], stdout=subprocess.PIPE,
                               stderr=slave, env={**os.environ, "COLUMNS": "120"})
    os.close(slave)
    screen = read_terminal(master)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    assert process.wait(timeout=60) == 0
    return out, screen.decode()


def test_ingest_shows_its_progress_at_a_terminal_and_nothing_with_json(tmp_path: Path) -> None:
    files = []
    for name, count in (("a.jsonl", 3), ("b.jsonl", 2)):
        lines = [json.dumps({"specversion": "1.0", "id": f"{name}-{n}", "source": "/pos/store-1",
                             "type": "order.captured", "subject": f"o-{n}"}) for n in range(count)]
        files.append(tmp_path / name)
        files[-1].write_text("\n".join(lines) + "\n")
    db = str(tmp_path / "backroom.duckdb")
    out, screen = _at_a_terminal("--db", db, "ingest", *map(str, files))
    last = screen.replace("\r\n", "\n").split("\r")[-1]
    assert "2/2 files" in last and "5 records" in last and "rows/s" in last, screen
    assert out.startswith("2 files: 5 rows, 0 rejects")
    out, screen = _at_a_terminal("--db", db, "ingest", "--json", *map(str, files))
    assert screen == "" and json.loads(out)["skipped_duplicates"] == 5
