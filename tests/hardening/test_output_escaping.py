"""Values that would forge lines in a terminal or a CI log: refused in one-line fields at
validation, and escaped in every command's text output whatever their field."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jarvis_config.outcome import safe_text

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import given
from hypothesis import strategies as st

NODE = "version: 1\nnodes:\n  n1: {address: n1.lan, memory_gb: 16, runtimes: {ollama: {}}}\n"
FORGED = "::error file=README.md,line=1::forged"
# Line starts GitHub's runner reads as workflow commands, once the line is trimmed.
COMMANDS = ("::", "##[")


def model(fields: str) -> str:
    return NODE + f"models:\n  llama3: {{runtime: ollama, placement: {{nodes: [n1]}}, {fields}}}\n"


def forged_lines(text: str) -> list[str]:
    return [
        line
        for line in text.split("\n")
        if line.strip().startswith("::") or "##[" in line or "\r" in line or "\x1b" in line
    ]


@pytest.mark.parametrize(
    ("fields", "at"),
    [
        pytest.param(f'source: "llama3\\n{FORGED}"', "source", id="newline-in-source"),
        pytest.param('source: "llama3\\r::add-mask::x"', "source", id="cr-in-source"),
        pytest.param('source: llama3, quantization: "q4\\u2028x"', "quantization", id="u2028"),
        pytest.param('source: "llama3\\u202e"', "source", id="bidi-override"),
        pytest.param('source: "llama3\\x85"', "source", id="nel"),
        pytest.param('source: "a\\tb"', "source", id="tab-in-source"),
        pytest.param('source: x, description: "a\\x1b[2J"', "description", id="escape-in-prose"),
        pytest.param('source: x, params: {stop: ["a\\x00"]}', "params.stop[0]", id="nul-in-stop"),
    ],
)
def test_control_characters_are_refused_in_their_field(
    cli: Callable[..., Any], tmp_path: Path, fields: str, at: str
) -> None:
    config = tmp_path / "jarvis.yaml"
    config.write_text(model(fields), "utf-8")
    result = cli("validate", config)
    assert result.exit_code == 1, result.stderr
    assert f"error[control-character]: '{at}' of model 'llama3' holds" in result.stderr
    assert not forged_lines(result.stderr)


def test_line_breaks_and_tabs_stay_allowed_in_prose_and_stop_strings(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    config = tmp_path / "jarvis.yaml"
    config.write_text(model('source: x, description: "a\\n\\tb", params: {stop: ["\\n\\nUser:"]}'))
    assert cli("validate", config).exit_code == 0


@pytest.fixture
def forged_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A config and its edit, the edit's description and stop string forging commands."""
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(model("source: llama3"), "utf-8")
    new.write_text(
        model(
            f'source: llama3, description: "chat\\n{FORGED}\\n  ::add-mask::x ##[error]y", '
            'params: {stop: ["\\n  ::stop-commands::tok"]}'
        ),
        "utf-8",
    )
    return old, new


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("diff", "{old}", "{new}"), id="diff"),
        pytest.param(("diff", "{old}", "{new}", "--format", "markdown"), id="diff-markdown"),
        pytest.param(("explain", "{new}", "llama3"), id="explain"),
        pytest.param(("explain", "{new}", "nothing"), id="explain-refused"),
        pytest.param(("routes", "{new}"), id="routes"),
        pytest.param(("graph", "{new}"), id="graph"),
    ],
)
def test_no_command_prints_a_workflow_command(
    cli: Callable[..., Any], forged_pair: tuple[Path, Path], args: tuple[str, ...]
) -> None:
    old, new = forged_pair
    result = cli(*(a.format(old=old, new=new) for a in args))
    assert result.exit_code in (0, 1), result.stderr
    assert not forged_lines(result.stdout + "\n" + result.stderr)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        pytest.param("a\n::error::x", "a\n\\x3a:error::x", id="command-after-newline"),
        pytest.param("  ::add-mask::x", "  \\x3a:add-mask::x", id="indented-command"),
        pytest.param("x ##[error]y", "x #\\x23[error]y", id="old-syntax"),
        pytest.param("a\r::error::x", "a\\x0d::error::x", id="carriage-return"),
        pytest.param("a\u2028b\x1b[31m", "a\\u2028b\\x1b[31m", id="separators"),
        pytest.param("a\tb\nc: d :: e", "a\tb\nc: d :: e", id="plain-text-unchanged"),
    ],
)
def test_safe_text_escapes(text: str, escaped: str) -> None:
    assert safe_text(text) == escaped


@given(st.text())
def test_safe_text_never_leaves_a_command_or_control_character(text: str) -> None:
    for line in safe_text(text).split("\n"):
        assert not line.strip().startswith(COMMANDS[0]) and COMMANDS[1] not in line
        unsafe = [ch for ch in line if unicodedata.category(ch) in ("Cc", "Zl", "Zp")]
        assert unsafe in ([], ["\t"] * len(unsafe)), repr(line)
        assert not any("\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069" for ch in line)
