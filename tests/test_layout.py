"""The house rules: queries/ and collectors/ never load Textual or console/; types and style hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_core_loads_neither_textual_nor_console() -> None:
    probe = (
        "import sys, queries, collectors, collectors.demo, queries.policy, queries.ingest\n"
        "print(','.join(sorted(m for m in ('textual', 'console') if m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_import_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_the_top_level_layout_is_the_agreed_one() -> None:
    expected = {"pyproject.toml", "console", "collectors", "queries", "tests", "screenshots",
                "README.md", "Makefile", ".ci"}
    present = {path.name for path in ROOT.iterdir()}
    assert expected <= present
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    top = {line.split("/")[0] for line in tracked.splitlines() if line}
    assert top <= expected | {".gitignore"}, top - expected


def test_the_code_type_checks() -> None:
    # STYLE.md: types everywhere. mypy once found a click on the bottom line that crashed the console.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-executable", sys.executable, "--no-error-summary",
         "console", "collectors", "queries"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_passes_the_linter() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format",
                             "concise", "console", "collectors", "queries", "tests"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
