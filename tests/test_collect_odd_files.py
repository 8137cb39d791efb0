"""Entries that are not plain files, in folders given to ingest and collect --follow: a named
pipe (opening it waits for a writer) is left out; a symbolic link loop is named, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collectors import SourceUnreadable, ingest_paths
from queries import Store
from queries.policy import Policy, load
from tests.test_collect_driver import events_file
from tests.test_collect_live_follow import append, expected, follower, stored_ids


@pytest.fixture
def policy() -> Policy:
    return load()


def test_a_folder_s_named_pipe_is_left_out_and_a_symlink_loop_named(store: Store, tmp_path: Path,
                                                                    policy: Policy) -> None:
    # A named pipe in a log folder would hold the ingest until something wrote to it.
    folder = tmp_path / "logs"
    folder.mkdir()
    events_file(folder / "a.jsonl", 2)
    os.mkfifo(folder / "b.pipe")
    (folder / "loop1").symlink_to(folder / "loop2")
    (folder / "loop2").symlink_to(folder / "loop1")
    with pytest.raises(SourceUnreadable) as raised:
        ingest_paths(store, [folder], policy=policy)
    assert str(raised.value) == f"cannot read {folder / 'loop1'}: too many levels of symbolic links"

    (folder / "loop1").unlink()
    (folder / "loop2").unlink()
    report = ingest_paths(store, [folder], policy=policy)
    assert [Path(s.path).name for s in report.sources] == ["a.jsonl"]
    assert report.summary_line() == "1 file: 2 rows, 0 rejects, 0 duplicates skipped"

    with pytest.raises(SourceUnreadable, match=r"b\.pipe: not a regular file"):
        ingest_paths(store, [folder / "b.pipe"], policy=policy)  # named: refused, not waited on


def test_a_followed_folder_s_named_pipe_is_left_out_and_a_symlink_loop_named(
        store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    os.mkfifo(folder / "b.pipe")  # opening it would hold the follower until something wrote
    (folder / "loop1").symlink_to(folder / "loop2")
    (folder / "loop2").symlink_to(folder / "loop1")
    append(folder / "a.jsonl", range(3))
    watching = follower(store, tmp_path, folder)
    watching.poll()
    assert stored_ids(store) == expected(range(3))
    stats = watching.targets[0][1]
    assert stats.error == f"cannot read {folder / 'loop2'}: too many levels of symbolic links"

    append(folder / "a.jsonl", range(3, 5))
    watching.poll()
    assert stored_ids(store) == expected(range(5))

    for target, says in ((folder / "b.pipe", "not a regular file"),
                         (folder / "loop1", "too many levels of symbolic links")):
        named = follower(store, tmp_path, target)
        named.poll()
        assert named.targets[0][1].error == f"cannot follow {target}: {says}"
