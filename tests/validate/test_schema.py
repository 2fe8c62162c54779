"""The JSON Schema: valid draft 2020-12, documented on every field for editors, in step with
the constants of jarvis_config.model, and in agreement with check-jsonschema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from jarvis_config import resources
from jarvis_config.load import load_text
from jarvis_config.model import catalog
from jarvis_config.model import mesh as model
from jarvis_config.validate.schema import check_schema
from tests.kit import ROOT

SCHEMA_FILE = ROOT / "schemas" / "jarvis-config.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]


def _fields(schema: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema that describes a field, a map's keys or values, or a list's items."""
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}.{name}", sub
        yield from _fields(sub, f"{where}.{name}")
    for keyword in ("propertyNames", "additionalProperties", "items"):
        sub = schema.get(keyword)
        if isinstance(sub, dict):
            yield f"{where}<{keyword}>", sub
            yield from _fields(sub, f"{where}<{keyword}>")


ALL_FIELDS = [*_fields(SCHEMA)] + [
    item for name, d in DEFS.items() for item in [(f"#{name}", d), *_fields(d, f"#{name}")]
]


def test_schema_is_valid_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_the_cli_prints_the_schema_file(cli: Callable[..., Any]) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == SCHEMA == resources.schema()


@pytest.mark.parametrize(("where", "field"), [pytest.param(w, f, id=w) for w, f in ALL_FIELDS])
def test_every_field_has_title_description_and_examples(where: str, field: dict[str, Any]) -> None:
    assert field.get("title"), where
    assert field.get("description"), where
    assert isinstance(field.get("examples"), list) and field["examples"], where


def test_examples_of_every_field_are_valid() -> None:
    for where, field in ALL_FIELDS:
        validator = Draft202012Validator({**field, "$defs": DEFS})
        for example in field["examples"]:
            errors = [e.message for e in validator.iter_errors(example)]
            assert errors == [], (where, example)
    for example in SCHEMA["examples"]:
        assert list(Draft202012Validator(SCHEMA).iter_errors(example)) == []


def test_every_object_refuses_unknown_fields() -> None:
    objects = [(w, f) for w, f in [("$", SCHEMA), *ALL_FIELDS] if "properties" in f]
    assert objects
    for where, field in objects:
        assert field.get("additionalProperties") is False, where


def test_schema_is_in_step_with_the_model() -> None:
    assert DEFS["name"]["pattern"] == model.NAME.pattern
    assert DEFS["secret"]["pattern"] == model.ENV_REF.pattern
    assert DEFS["provider"]["properties"]["kind"]["enum"] == list(catalog.PROVIDER_LITELLM_PREFIX)
    assert DEFS["model"]["properties"]["category"]["enum"] == list(catalog.MODEL_CATEGORIES)
    assert DEFS["model"]["properties"]["runtime"]["enum"] == list(catalog.RUNTIME_DEFAULT_PORTS)
    assert list(DEFS["runtimes"]["properties"]) == list(catalog.RUNTIME_DEFAULT_PORTS)
    routing = DEFS["routing"]["properties"]
    assert routing["strategy"]["enum"] == list(catalog.ROUTING_STRATEGIES)
    assert routing["node_pinning"]["enum"] == list(catalog.PINNING_POLICIES)
    assert (
        DEFS["gateway"]["properties"]["litellm_version"]["default"]
        == catalog.DEFAULT_LITELLM_VERSION
    )


@pytest.mark.parametrize("name", ["ai-max", "llama3", "Qwen2.5-7B", "a", "x" * 63, "node_1"])
def test_good_names(name: str) -> None:
    assert model.NAME.match(name)


@pytest.mark.parametrize("name", ["", "-x", ".x", "a b", "m@n", "node:x", "a/b", "x" * 64, "é"])
def test_bad_names(name: str) -> None:
    assert not model.NAME.match(name)


def test_a_literal_secret_is_never_echoed() -> None:
    doc, _ = load_text(
        "version: 1\ngateway: {master_key: hunter2-secret}\n"
        "providers: {p: {kind: openai, api_key: 12345678}}\n",
        "m.yaml",
    )
    assert doc is not None
    problems = check_schema(doc)
    assert [p.code for p in problems] == ["literal-secret", "literal-secret"]
    text = " ".join(f"{p.message} {p.hint}" for p in problems)
    assert "hunter2" not in text and "12345678" not in text


def test_a_value_of_the_wrong_type_is_one_problem() -> None:
    doc, _ = load_text("version: 1\nmodels: {m: [1]}\nrouting: {strategy: 3}\n", "m.yaml")
    assert doc is not None
    assert [(p.code, p.path) for p in check_schema(doc)] == [
        ("wrong-type", "$.models.m"),
        ("wrong-type", "$.routing.strategy"),
    ]


@pytest.mark.skipif(
    shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) is None,
    reason="check-jsonschema is not installed next to this Python",
)
@pytest.mark.parametrize(
    "config", ["examples/homelab/jarvis.yaml", "tests/cases/invalid/port-out-of-range/jarvis.yaml"]
)
def test_check_jsonschema_agrees(config: str) -> None:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert tool is not None
    run = subprocess.run(
        [tool, "--schemafile", str(SCHEMA_FILE), str(ROOT / config)],
        capture_output=True,
        text=True,
        check=False,
    )
    doc, _ = load_text((ROOT / config).read_text(encoding="utf-8"), config)
    assert doc is not None
    assert (run.returncode == 0) == (check_schema(doc) == []), run.stdout + run.stderr
