"""This repository's own .pre-commit-config.yaml: local hooks only (nothing downloaded), the
linters CI runs, and the project's validate hook over every example mesh."""

from __future__ import annotations

from typing import Any

import yaml

from tests.kit import ROOT, mesh_examples


def hooks() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    return {hook["id"]: hook for hook in config["repos"][0]["hooks"]}


def test_the_hooks_are_local_and_run_the_linters_of_ci() -> None:
    found = hooks()
    assert sorted(found) == ["jarvis-config-validate", "mypy", "ruff", "ruff-format"]
    assert {hook["language"] for hook in found.values()} == {"system"}
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in ("ruff check", "ruff format", "mypy"):
        assert command in ci


def test_the_validate_hook_checks_every_example_mesh() -> None:
    hook = hooks()["jarvis-config-validate"]
    assert hook["entry"] == "python -m jarvis_config validate"
    assert hook["pass_filenames"] is False
    assert hook["args"] == [str(path.relative_to(ROOT)) for path in mesh_examples()]
