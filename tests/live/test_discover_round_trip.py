"""`discover` writes the starter through the YAML serializer and reads it back: whatever a
runtime names its models, the file holds those names as text, or leaves the model out with a
warning; a URL the mesh could not take as an address is a one-line error. Never exit 3."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from jarvis_config.commands.discover import _starter
from jarvis_config.live.discover import Found
from jarvis_config.live.probes import Served
from tests.conftest import CliResult
from tests.live.hostile_server import Hostile, http_answer, serving

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st

Cli = Callable[..., CliResult]
# Names YAML reads as another type, or as syntax, when written bare.
NAMES = [
    "null",
    "~",
    "true",
    "no",
    "1.5",
    "0x1F",
    "1e3",
    "2024-01-01",
    "12:30",
    "llama😀",
    "a: b",
    "- x",
    "#x",
    '"q"',
    "'q'",
    "*a",
    "&a",
    "!tag",
    "[x]",
    "{x: 1}",
    "? x",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "x #y",
    "é",
    "\u2028",
    "llama3:8b",
]


def tags(names: list[str]) -> bytes:
    return http_answer(json.dumps({"models": [{"name": n, "size": 4_000_000_000} for n in names]}))


def test_served_names_read_back_as_text(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "jarvis.yaml"
    with serving(Hostile({"/api/tags": tags(NAMES)})) as runtime:
        result = cli("discover", runtime.url, "-o", out, "--timeout", "10")
    assert "Traceback" not in result.stderr and result.exit_code == 0, result.stderr
    data = yaml.safe_load(out.read_text("utf-8"))
    sources = {spec["source"] for spec in data["models"].values()}
    assert all(isinstance(name, str) for name in [*data["models"], *data["nodes"]])
    skipped = set(NAMES) - sources
    assert skipped <= {"\u2028"}, skipped  # a line separator is no source (control-character)
    assert cli("validate", out).exit_code == 0


@pytest.mark.parametrize("host", ["127.1", "0x7f.1", "10.0.0.300"])
def test_a_url_the_mesh_could_not_take_is_a_plain_error(cli: Cli, host: str) -> None:
    result = cli("discover", f"http://{host}:11434", "--timeout", "2")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert f"the host {host} " in result.stderr


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=5, unique=True))
def test_any_served_names_give_a_starter_that_validates(names: list[str]) -> None:
    found = [Found("n1", "n1.lan", "ollama", 11434, tuple(Served(n) for n in names))]
    text = _starter(found)  # raises when it does not read back or validate
    data = yaml.safe_load(text)
    assert {spec["source"] for spec in (data["models"] or {}).values()} <= set(names)
