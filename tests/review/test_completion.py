"""Shell completion, as docs/commands.md documents it (click's own completion)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from jarvis_config.cli import main


def complete(words: str, shell: str = "bash") -> str:
    env = {
        "_JARVIS_CONFIG_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="jarvis-config")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_is_printed(shell: str) -> None:
    result = CliRunner().invoke(
        main, [], env={"_JARVIS_CONFIG_COMPLETE": f"{shell}_source"}, prog_name="jarvis-config"
    )
    assert result.exit_code == 0
    assert "_JARVIS_CONFIG_COMPLETE" in result.output


def test_commands_complete() -> None:
    assert complete("jarvis-config ex").splitlines() == ["plain,explain"]
    names = {line.split(",")[1] for line in complete("jarvis-config ").splitlines()}
    assert {"explain", "diff", "graph", "docs", "validate", "build"} <= names


def test_option_values_complete() -> None:
    formats = {
        line.split(",")[1] for line in complete("jarvis-config graph x --format ").splitlines()
    }
    assert formats == {"mermaid", "dot", "svg"}
