"""The schema gate agrees with jsonschema: whenever it calls a document valid, jsonschema finds
no error, and wherever it decides at all, it decides as jsonschema does.

The gate lets `validate` skip importing jsonschema for valid meshes, so a disagreement would let
an invalid mesh through unreported. Checked over every example and corpus case, and over
documents that hypothesis derives from the examples by replacing one value at a time.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jarvis_config import resources
from jarvis_config.load import load_path
from jarvis_config.validate import gate, schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = resources.schema()
VALIDATOR = schema._validator()  # the validator the gate stands in for


def _configs() -> list[Path]:
    folders = [*(ROOT / "examples").iterdir(), *(ROOT / "tests" / "cases").glob("*/*")]
    return sorted(p for p in folders if p.is_dir() and any(p.glob("*.yaml")))


def _data(folder: Path) -> Any:
    target = folder / "jarvis.yaml" if (folder / "jarvis.yaml").exists() else folder
    document, _ = load_path(target)
    return None if document is None else document.data


def _decided(instance: Any) -> bool | None:
    """The gate's exact verdict, or None where it leaves the verdict to jsonschema."""
    try:
        return gate._valid(instance, SCHEMA, SCHEMA)
    except gate.Unsure:
        return None


def _agrees(instance: Any) -> None:
    valid = VALIDATOR.is_valid(instance)
    if gate.proves_valid(instance, SCHEMA):
        assert valid, "the gate passed a document jsonschema rejects"
    verdict = _decided(instance)
    assert verdict is None or verdict == valid


CONFIGS = [c for c in _configs() if _data(c) is not None]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_gate_agrees_with_jsonschema_on_every_example_and_case(config: Path) -> None:
    _agrees(_data(config))


def test_the_gate_proves_every_valid_example_and_case_valid() -> None:
    """Otherwise it saves nothing: what jsonschema accepts must pass without it."""
    accepted = [c for c in CONFIGS if VALIDATOR.is_valid(_data(c))]
    assert len(accepted) >= 5
    assert [c for c in accepted if not gate.proves_valid(_data(c), SCHEMA)] == []


def test_the_gate_leaves_what_it_cannot_decide_to_jsonschema() -> None:
    assert gate.proves_valid({"version": 1}, {"if": {}}) is False
    with pytest.raises(gate.Unsure):
        gate._valid(1, {"if": {}}, {})
    with pytest.raises(gate.Unsure):
        gate._valid([1, True], {"uniqueItems": True}, {})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a document, containers and leaves."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _replaced(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(data)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return out


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([8000.0, 1.0, 0.5, -0.0, 65535.0]),
    st.text(max_size=12),
    st.sampled_from(["ollama", "vllm", "general", "strict", "1.108.7", "${X}", "a b", "x\n"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
EXAMPLES = [_data(c) for c in CONFIGS if c.parent.name == "examples" and c.name != "ci"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_gate_agrees_with_jsonschema_on_documents_one_value_away(data: st.DataObject) -> None:
    example = data.draw(st.sampled_from(EXAMPLES))
    path = data.draw(st.sampled_from(_paths(example)))
    _agrees(_replaced(example, path, data.draw(VALUES)))
