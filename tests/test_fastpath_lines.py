"""Finding lines in a file as Python's reader numbers them: the lines the CloudEvents fast path
left to Python (`locate`), and the lines DuckDB's reader drops as not UTF-8 (`undecodable`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import fastpath


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.sampled_from([b"", b"{a}", b"{bb}", b"{ccc}", b"x" * 40, b"\xc3\xa9{"]),
                      max_size=30),
       bom=st.booleans(), terminated=st.booleans(), picks=st.data())
def test_locate_finds_each_line_left_out_where_a_line_by_line_read_does(
        tmp_path: Path, lines: list[bytes], bom: bool, terminated: bool,
        picks: st.DataObject) -> None:
    content = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines) + (b"\n" if terminated else b"")
    path = tmp_path / "lines.jsonl"
    path.write_bytes(content)
    # The lines as Python's reader numbers them, with their offsets and texts (BOM taken off).
    expected, offset = [], 0
    for number, data in enumerate(io.BytesIO(content), 1):
        text = data.removesuffix(b"\n")
        expected.append((number, offset, text[3:] if number == 1 and bom else text))
        offset += len(data)
    chosen = picks.draw(st.lists(st.sampled_from(expected), unique=True) if expected
                        else st.just([]))
    chosen.sort()
    # Every line of a chosen text is left out, as DuckDB would name them (by text, each time).
    texts = {text for _, _, text in chosen}
    left_out = [(number, start) for number, start, text in expected if text in texts]
    layout = fastpath.Layout(len(expected), False)

    assert fastpath.locate(path, [t.decode() for _, _, t in expected if t in texts],
                           layout) == left_out


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.sampled_from([b"", b"{a}", b"caf\xc3\xa9", b"\xff", b"x\xc3", b"y" * 9]),
                      max_size=20),
       terminated=st.booleans(), chunk=st.integers(1, 12))
def test_undecodable_names_the_lines_a_line_by_line_decode_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[bytes], terminated: bool,
        chunk: int) -> None:
    monkeypatch.setattr(fastpath, "CHUNK", chunk)  # lines and multi-byte characters cut anywhere
    content = b"\n".join(lines) + (b"\n" if terminated and lines else b"")
    path = tmp_path / "lines.jsonl"
    path.write_bytes(content)
    expected, offset = [], 0
    for number, data in enumerate(io.BytesIO(content), 1):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            expected.append((number, offset))
        offset += len(data)

    assert fastpath.undecodable(path) == expected
