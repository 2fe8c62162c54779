"""How validate reports: --format text|json|github, --strict, several paths, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kit import ROOT

BROKEN = ROOT / "tests" / "cases" / "invalid" / "many-problems" / "jarvis.yaml"
HOMELAB = ROOT / "examples" / "homelab" / "jarvis.yaml"
CliRunner = Callable[..., Any]

WARNS = """\
version: 1
gateway:
  master_key: ${JARVIS_TEST_SURELY_UNSET}
"""


@pytest.fixture
def warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("JARVIS_TEST_SURELY_UNSET", raising=False)
    path = tmp_path / "jarvis.yaml"
    path.write_text(WARNS, encoding="utf-8")
    return path


def test_json_format_lists_every_problem_on_stdout(cli: CliRunner) -> None:
    result = cli("validate", "--format", "json", BROKEN)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [p["code"] for p in problems] == [
        "unknown-field",
        "memory-over-budget",
        "literal-secret",
        "unknown-node",
        "unknown-alias-target",
    ]
    first = problems[0]
    assert first == {
        "file": str(BROKEN),
        "line": 3,
        "col": 1,
        "severity": "error",
        "code": "unknown-field",
        "message": "unknown section 'gatway'",
        "path": "$.gatway",
        "hint": "did you mean 'gateway'?",
    }


def test_json_output_never_contains_the_literal_secret(cli: CliRunner) -> None:
    result = cli("validate", "--format", "json", BROKEN)
    assert "sk-proj-0123456789abcdefghij" not in result.stdout + result.stderr


def test_github_format_writes_workflow_annotations(cli: CliRunner) -> None:
    result = cli("validate", "--format", "github", BROKEN)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert lines[3] == (
        f"::error file={BROKEN},line=27,col=31,title=jarvis-config unknown-node::"
        "[unknown-node] node 'cpu2' is not defined (at $.models.llama3.placement.nodes[1]) "
        "hint: did you mean 'cpu1'?"
    )


def test_a_warning_alone_passes(cli: CliRunner, warns: Path) -> None:
    result = cli("validate", warns)
    assert result.exit_code == 0
    assert (
        f"{warns}:3:15: warning[env-unset]: environment variable "
        "'JARVIS_TEST_SURELY_UNSET' is not set (at $.gateway.master_key)" in result.stderr
    )
    assert "1 config valid: 0 errors, 1 warning" in result.stdout


def test_strict_turns_warnings_into_errors(cli: CliRunner, warns: Path) -> None:
    result = cli("validate", "--strict", warns)
    assert result.exit_code == 1
    assert "error[env-unset]" in result.stderr
    assert "1 config invalid: 1 error, 0 warnings" in result.stderr


def test_github_format_marks_warnings_as_warnings(cli: CliRunner, warns: Path) -> None:
    result = cli("validate", "--format", "github", warns)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"::warning file={warns},line=3,col=15,")


def test_several_paths_are_checked_in_one_run(cli: CliRunner) -> None:
    result = cli("validate", HOMELAB, BROKEN)
    assert result.exit_code == 1
    assert "1 of 2 configs invalid: 5 errors" in result.stderr


def test_the_summary_counts_the_invalid_configs_not_the_paths_given(cli: CliRunner) -> None:
    result = cli("validate", HOMELAB, HOMELAB, BROKEN)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "1 of 3 configs invalid: 5 errors, 0 warnings"
    assert cli("validate", HOMELAB, HOMELAB).stdout.splitlines()[-1].startswith("2 configs valid:")


def test_usage_errors_exit_2(cli: CliRunner) -> None:
    assert cli("validate").exit_code == 2
    assert cli("validate", "--format", "xml", HOMELAB).exit_code == 2
