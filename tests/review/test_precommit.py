"""The pre-commit hook manifest (.pre-commit-hooks.yaml) and the CI recipes in examples/ci.

The manifest is read and checked against the real CLI; then, marked slow, the real
`pre-commit` (from the registry, as users get it) installs this repository as a hook repository
and runs the hooks on a sample repository: a valid mesh passes, a broken one fails with its
FILE:LINE:COL error, and a stale build output fails the build check.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from jarvis_config.cli import main
from tests.kit import HOMELAB, ROOT, git

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
RECIPES = ROOT / "examples" / "ci"


def hooks() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, list)
    return loaded


def command_of(words: list[str]) -> click.Command:
    """The click command that `jarvis-config SUB ...` runs (fails on an unknown one)."""
    assert words[0] == "jarvis-config"
    assert isinstance(main, click.Group)
    command = main.commands.get(words[1])
    assert command is not None, f"no command {words[1]!r}"
    return command


def option_names(command: click.Command) -> set[str]:
    return {name for param in command.params for name in getattr(param, "opts", [])}


def test_manifest_ids_and_entries_point_at_real_commands() -> None:
    by_id = {hook["id"]: hook for hook in hooks()}
    assert sorted(by_id) == ["jarvis-config-build-check", "jarvis-config-validate"]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'jarvis-config = "jarvis_config.cli:main"' in pyproject
    for hook in by_id.values():
        assert hook["language"] == "python", "installed from this repository's package"
        words = shlex.split(hook["entry"])
        command = command_of(words)
        unknown = [w for w in words[2:] if w.startswith("-") and w not in option_names(command)]
        assert not unknown, f"{hook['id']}: {unknown} are not options of {words[1]}"
    assert by_id["jarvis-config-build-check"]["pass_filenames"] is False


@pytest.mark.parametrize(
    "path, matched",
    [
        ("jarvis.yaml", True),
        ("mesh/jarvis.yml", True),
        ("lab/home.jarvis.yaml", True),
        ("docker-compose.yaml", False),
        ("jarvis.yaml.bak", False),
        ("notjarvis.yaml", False),
    ],
)
def test_validate_hook_files_pattern(path: str, matched: bool) -> None:
    validate = next(h for h in hooks() if h["id"] == "jarvis-config-validate")
    assert bool(re.search(validate["files"], path)) is matched


def test_manifest_passes_pre_commits_own_schema() -> None:
    clientlib = pytest.importorskip(
        "pre_commit.clientlib", reason="pre-commit (test extra) is not installed"
    )
    loaded = clientlib.load_manifest(str(MANIFEST))
    assert [h["id"] for h in loaded] == ["jarvis-config-validate", "jarvis-config-build-check"]


def recipe_commands() -> list[list[str]]:
    """Every `jarvis-config ...` command line in the `run:` steps of the workflow recipes."""
    found = []
    for recipe in sorted(RECIPES.glob("*.yml")):
        workflow = yaml.safe_load(recipe.read_text(encoding="utf-8"))
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                for match in re.finditer(r"jarvis-config (\w[^|>&;\"\n]*)", step.get("run", "")):
                    found.append(["jarvis-config", *shlex.split(match.group(1))])
    return found


def test_recipes_use_real_commands_and_options() -> None:
    commands = recipe_commands()
    assert {c[1] for c in commands} == {"validate", "build", "diff", "graph", "doctor"}
    for words in commands:
        options = [w.split("=")[0] for w in words[2:] if w.startswith("-")]
        assert set(options) <= option_names(command_of(words)), words


def test_recipes_are_valid_yaml_and_the_pre_commit_config_uses_both_hooks() -> None:
    for recipe in RECIPES.iterdir():
        assert yaml.safe_load(recipe.read_text(encoding="utf-8")), recipe.name
    config = yaml.safe_load((RECIPES / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    ids = [h["id"] for repo in config["repos"] for h in repo["hooks"]]
    assert ids == ["jarvis-config-validate", "jarvis-config-build-check"]


# --- the real pre-commit, on a sample repository ------------------------------------------------

HOOK_REPO_FILES = (
    "pyproject.toml",
    "README.md",
    ".pre-commit-hooks.yaml",
    "jarvis_config",
    "templates",
    "schemas",
)


def snapshot_of_this_repository(target: Path) -> str:
    """This working tree's package files committed in a fresh repository; returns the commit."""
    target.mkdir()
    for name in HOOK_REPO_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return git(target, "rev-parse", "HEAD")


def sample_repository(path: Path, hook_repo: Path, rev: str, cli: Callable[..., Any]) -> None:
    """A repository with the homelab mesh in mesh/, its build in deploy/, the example config."""
    (path / "mesh").mkdir(parents=True)
    shutil.copy2(HOMELAB / "jarvis.yaml", path / "mesh" / "jarvis.yaml")
    shutil.copy2(HOMELAB / "jarvis.yaml", path / "site.jarvis.yaml")
    built = cli("build", path / "mesh", "-o", path / "deploy")
    assert built.exit_code == 0, built.stderr
    config = yaml.safe_load((RECIPES / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    config["repos"][0].update(repo=str(hook_repo), rev=rev)
    config["repos"][0]["hooks"].append({"id": "jarvis-config-validate"})  # the default pattern
    (path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    git(path, "init", "-q")
    git(path, "add", "-A")


def run_pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PYTHONPATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@pytest.mark.slow
def test_real_pre_commit_runs_the_hooks(tmp_path: Path, cli: Callable[..., Any]) -> None:
    pytest.importorskip("pre_commit", reason="pre-commit (test extra) is not installed")
    rev = snapshot_of_this_repository(tmp_path / "hook-repo")
    sample = tmp_path / "sample"
    sample_repository(sample, tmp_path / "hook-repo", rev, cli)
    home = tmp_path / "pre-commit-home"

    ok = run_pre_commit(sample, home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # Both validate hooks ran: the folder one and the default pattern on site.jarvis.yaml.
    assert len(re.findall(r"jarvis-config validate\.+Passed", ok.stdout)) == 2, ok.stdout
    assert re.search(r"jarvis-config build --check\.+Passed", ok.stdout)

    broken = (sample / "mesh" / "jarvis.yaml").read_text(encoding="utf-8")
    broken = broken.replace("[ai-max, mini]", "[ai-max, mni]")
    (sample / "mesh" / "jarvis.yaml").write_text(broken, encoding="utf-8")
    failed = run_pre_commit(sample, home)
    assert failed.returncode == 1
    assert re.search(r"jarvis-config validate\.+Failed", failed.stdout)
    assert "mesh/jarvis.yaml:" in failed.stdout and "error[unknown-node]" in failed.stdout
    assert re.search(r"jarvis-config build --check\.+Failed", failed.stdout)
