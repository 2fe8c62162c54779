"""The console entry point reads a plain `validate` call itself, without click (its start-up is
a pre-commit hook's speed), and hands everything else to click. Its reading must be click's:
for any arguments, it either declines or finds exactly the parameters click finds
(test_entry_reader.py tries random arguments), and a run through it prints and exits exactly
as the same run through click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from jarvis_config.cli import main
from jarvis_config.commands import validate as validate_command
from jarvis_config.entry import PlainValidate, plain_validate
from tests.kit import EXAMPLES_DIR, ROOT


def click_reading(args: list[str]) -> PlainValidate | None:
    """What click hands the validate command for `args`; None if click would not run it
    (usage error, help, another command)."""
    seen: list[PlainValidate] = []

    def record(paths: list[Path], *, fmt: str, strict: bool) -> int:
        seen.append(PlainValidate(tuple(paths), fmt, strict))
        return 0

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validate_command, "validate", record)
        try:
            main.main(list(args), "jarvis-config", standalone_mode=False)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            return None
    return seen[0] if seen else None


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "a.yaml"],
        ["validate", "--strict", "a.yaml", "b", "--format", "json"],
        ["validate", "a.yaml", "--format=github", "--format", "text"],
    ],
    ids=" ".join,
)
def test_the_plain_reader_takes_the_plain_forms(args: list[str]) -> None:
    assert plain_validate(args) is not None
    assert plain_validate(args) == click_reading(args)


def run(entry: str, *args: str | Path) -> tuple[int, str, str]:
    code = f"import sys; from {entry} import main; sys.exit(main())"
    env = {"PATH": "/usr/bin:/bin", "JARVIS_MASTER_KEY": "sk-x"}  # OPENAI_API_KEY unset
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout, proc.stderr


CASES = ROOT / "tests" / "cases" / "invalid"
RUNS = {
    "valid": ["validate", EXAMPLES_DIR / "homelab"],
    "invalid": ["validate", CASES / "bad-category", CASES / "alias-cycle"],
    "warnings, strict": ["validate", EXAMPLES_DIR / "homelab", "--strict"],
    "json": ["validate", "--format", "json", CASES / "alias-cycle"],
    "github": ["validate", "--format=github", CASES / "address-is-url"],
    "missing file": ["validate", "nowhere.yaml"],
}


@pytest.mark.parametrize("args", RUNS.values(), ids=RUNS.keys())
def test_a_run_prints_and_exits_as_through_click(args: list[str | Path]) -> None:
    assert plain_validate([str(a) for a in args]) is not None
    through_click = run("jarvis_config.cli", *args)
    assert through_click[0] in (0, 1)
    assert run("jarvis_config.entry", *args) == through_click
