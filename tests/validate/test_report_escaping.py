"""Machine-readable reports stay machine-readable whatever the input holds.

A file name with a line break once produced extra GitHub workflow commands: `::error` lines
forged by whoever named the file. GitHub's rules: in a command's data `%`, CR and LF are
escaped; in its properties (file, title) also `:` and `,`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st

from jarvis_config.problems import Location, Problem
from jarvis_config.report import render_problems

FORGED = "x\n::error file=forged.yaml,line=1::forged\r\n::warning::also%0Aforged,:"


def _unescape_property(text: str) -> str:
    for code, char in (("%2C", ","), ("%3A", ":"), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        text = text.replace(code, char)
    return text


def test_github_annotation_of_a_hostile_file_name_is_one_command(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    bad = tmp_path / f"{FORGED}.yaml"
    bad.write_text("version: 1\nnodes: [\n", encoding="utf-8")
    result = cli("validate", "--format", "github", bad)
    assert result.exit_code == 1
    lines = result.stdout.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("::error file=")
    file_property = lines[0].split("file=", 1)[1].split(",line=", 1)[0]
    assert _unescape_property(file_property) == str(bad)


def test_json_report_keeps_a_hostile_file_name_exactly(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    bad = tmp_path / f"{FORGED}.yaml"
    bad.write_text("version: 1\nnodes: [\n", encoding="utf-8")
    result = cli("validate", "--format", "json", bad)
    assert [p["file"] for p in json.loads(result.stdout)["problems"]] == [str(bad)]


def test_text_report_writes_control_characters_as_escapes(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    bad = tmp_path / "a\nb\u2028c.yaml"
    bad.write_text("version: 1\nnodes: [\n", encoding="utf-8")
    result = cli("validate", bad)
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{tmp_path}/a\\x0ab\\u2028c.yaml:")


@settings(max_examples=150, deadline=None)
@given(
    name=st.text(min_size=1, max_size=40),
    message=st.text(max_size=40),
    hint=st.one_of(st.none(), st.text(max_size=20)),
)
def test_every_format_gives_one_record_per_problem(
    name: str, message: str, hint: str | None
) -> None:
    problems = [
        Problem(Location(name, 3, 4), "some-code", message, "$", hint),
        Problem(Location("other.yaml"), "other-code", "plain"),
    ]
    github = render_problems(problems, "github").split("\n")
    assert len(github) == 2 and all(line.startswith("::error file=") for line in github)
    files = []
    for line in github:
        header = line.split("::", 2)[1].removeprefix("error ")
        properties = dict(part.split("=", 1) for part in header.split(","))
        files.append(_unescape_property(properties["file"]))
    assert sorted(files) == sorted([name, "other.yaml"])
    reported = json.loads(render_problems(problems, "json"))["problems"]
    assert sorted(p["file"] for p in reported) == sorted([name, "other.yaml"])
    text = render_problems(problems, "text").split("\n")
    assert len(text) == 2 + (1 if hint else 0)
