"""docs/commands.md stays true: its pictures and answers are what the commands print, and every
command line it shows uses real commands and options."""

from __future__ import annotations

import re
import shlex

import click
import pytest

from jarvis_config.cli import main
from jarvis_config.review import explain, graph
from tests.kit import HOMELAB, ROOT, compile_mesh

DOC = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")


def block_after(marker: str, fence: str) -> str:
    start = DOC.index(marker)
    body = DOC.index(f"```{fence}\n", start) + len(fence) + 4
    return DOC[body : DOC.index("\n```\n", body) + 1]


def test_mermaid_picture_is_what_graph_prints() -> None:
    shown = block_after("The homelab example, as `jarvis-config graph", "mermaid")
    assert shown == graph.to_mermaid(compile_mesh(HOMELAB))


def test_explain_answer_is_what_explain_prints() -> None:
    shown = block_after("## `explain`", "console").split("\n", 1)[1]
    answer = explain.explain_request(compile_mesh(HOMELAB), "chat")
    assert isinstance(answer, explain.Explanation)
    assert shown == explain.format_text(answer) + "\n"


@pytest.mark.parametrize(
    "line",
    sorted(
        {
            m.group(0)
            for m in re.finditer(
                r"(?<![\w/.-])jarvis-config "
                r"(?:explain|diff|graph|docs|validate|build|doctor|discover|try|routes)\b(?!:)[^\n`)|]*",
                DOC,
            )
        }
    ),
)
def test_command_lines_use_real_options(line: str) -> None:
    words = shlex.split(line.split("#")[0].replace("[", " ").replace("]", " ").replace("|", " "))
    assert isinstance(main, click.Group)
    command = main.commands[words[1]]
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    used = {w.split("=")[0] for w in words[2:] if w.startswith("-")}
    assert used <= options, line
