"""Acceptance corpus: every folder under tests/cases/invalid/ fails with exactly the messages in
its expected.txt; every folder under tests/cases/valid/ and examples/ validates.

A case folder holds jarvis.yaml (or several YAML files: a split mesh, validated as a folder),
expected.txt (the problem lines of the text report, FILE relative to the case folder) and,
optionally, args.txt (extra options such as --strict). `pytest --update-golden` rewrites the
expected.txt files from the current output; review the diff.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kit import CASES, example_params

CliResult = Any  # tests/conftest.py's CliResult: exit_code, stdout, stderr

SUMMARY = re.compile(r"^1 config invalid: \d+ errors?, \d+ warnings?$")
UNSET = "JARVIS_TEST_UNSET_MASTER_KEY"  # the one variable a case expects to be unset


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def _target(folder: Path) -> str:
    """The config to validate, relative to the folder: its jarvis.yaml, or the whole folder."""
    return "jarvis.yaml" if (folder / "jarvis.yaml").exists() else "."


def _run(
    cli: Callable[..., CliResult],
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> CliResult:
    monkeypatch.chdir(folder)
    monkeypatch.delenv(UNSET, raising=False)
    args_file = folder / "args.txt"
    extra = args_file.read_text(encoding="utf-8").split() if args_file.exists() else []
    return cli("validate", *extra, _target(folder))


INVALID = [pytest.param(p, id=p.name) for p in _folders(CASES / "invalid")]
VALID = [pytest.param(p, id=p.name) for p in _folders(CASES / "valid")]
EXAMPLE_DIRS = example_params()


def test_corpus_is_large_enough() -> None:
    assert len(INVALID) >= 35
    assert all((p.values[0] / "expected.txt").exists() for p in INVALID)  # type: ignore[operator]


@pytest.mark.parametrize("case", INVALID)
def test_invalid_case(
    case: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    result = _run(cli, case, monkeypatch)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.exit_code == 1, output
    lines = result.stderr.rstrip("\n").split("\n")
    assert SUMMARY.match(lines[-1]), lines[-1]
    expected_file = case / "expected.txt"
    if update_golden:
        expected_file.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert lines[:-1] == expected_file.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("case", VALID)
def test_valid_case(
    case: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(cli, case, monkeypatch)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr == ""  # not even a warning


@pytest.mark.parametrize("example", EXAMPLE_DIRS)
def test_example_validates(
    example: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(cli, example, monkeypatch)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "error[" not in result.stderr
