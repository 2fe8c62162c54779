"""What a new user met on a first try, each fixed and kept fixed: messages that point at the
right cause and the right next step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRunner = Callable[..., Any]
UNSET = "JARVIS_ROUGH_EDGES_UNSET"
UNSET_KEY = f'version: 1\ngateway:\n  master_key: "${{{UNSET}}}"\n'


def _validate(cli: CliRunner, tmp_path: Path, text: str, *options: str) -> Any:
    config = tmp_path / "jarvis.yaml"
    config.write_text(text, encoding="utf-8")
    return cli("validate", *options, config)


@pytest.mark.parametrize(
    "options, line",
    [
        pytest.param(
            (),
            "  hint: set it where the mesh is built and deployed; --strict makes this an error",
            id="warning",
        ),
        pytest.param(
            ("--strict",), "  hint: set it where the mesh is built and deployed", id="strict"
        ),
    ],
)
def test_only_a_warning_says_that_strict_makes_it_an_error(
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
    line: str,
) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    result = _validate(cli, tmp_path, UNSET_KEY, *options)
    assert result.stderr.splitlines()[1] == line
