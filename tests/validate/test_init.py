"""`jarvis-config init`: a commented starter config that validates, with the schema beside it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jarvis_config import resources

CliRunner = Callable[..., Any]


def test_init_writes_a_starter_that_validates_strictly(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "mesh" / "jarvis.yaml"
    result = cli("init", config)
    assert result.exit_code == 0, result.stderr
    lines = config.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# yaml-language-server: $schema=./jarvis-config.schema.json"
    assert sum(1 for line in lines if "#" in line) > 10  # commented for newcomers
    schema = tmp_path / "mesh" / "jarvis-config.schema.json"
    assert json.loads(schema.read_text(encoding="utf-8")) == resources.schema()
    checked = cli("validate", "--strict", config)  # tests set the two variables it references
    assert checked.exit_code == 0, checked.stderr
    assert checked.stderr == ""


def test_init_keeps_an_existing_schema_file(cli: CliRunner, tmp_path: Path) -> None:
    schema = tmp_path / "jarvis-config.schema.json"
    schema.write_text("{}", encoding="utf-8")
    assert cli("init", tmp_path / "jarvis.yaml").exit_code == 0
    assert schema.read_text(encoding="utf-8") == "{}"


def test_init_refuses_to_overwrite_without_force(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "jarvis.yaml"
    config.write_text("mine", encoding="utf-8")
    assert cli("init", config).exit_code == 2
    assert config.read_text(encoding="utf-8") == "mine"
    assert cli("init", "--force", config).exit_code == 0


def test_the_starter_names_the_file_it_was_written_to(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "my mesh.yaml"
    assert cli("init", config).exit_code == 0
    text = config.read_text(encoding="utf-8")
    assert f"jarvis-config validate '{config.as_posix()}'" in text
    assert f"jarvis-config build '{config.as_posix()}' -o out/" in text
    assert "jarvis-config validate jarvis.yaml" not in text
