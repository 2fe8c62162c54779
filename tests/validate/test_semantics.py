"""Semantic rules read malformed data defensively: they run even when the schema failed, and
neither stage raises on any shape of input."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jarvis_config.load import Document
from jarvis_config.model.mesh import build_mesh
from jarvis_config.pipeline import validate
from jarvis_config.problems import Severity, has_errors
from jarvis_config.validate.semantics import check_semantics

MALFORMED: list[Any] = [
    {"nodes": [1, 2]},
    {"nodes": {"a": None, "b": [], "c": {"runtimes": [], "roles": "gpu", "address": 5}}},
    {"nodes": {"a": {"runtimes": {"ollama": {"port": "x"}, "vllm": 7}, "memory_gb": "lots"}}},
    {"models": {"m": {"runtime": ["ollama"], "placement": "everywhere"}}},
    {"models": {"m": {"runtime": "ollama", "placement": {"nodes": "a", "roles": 3}}}},
    {"models": {"m": {"runtime": "ollama", "placement": {"nodes": [None, {}, 1]}}}},
    {"models": {"m": {"provider": {"x": 1}, "placement": None}}},
    {"models": {"m": {"runtime": "ollama", "memory_gb": True, "placement": {"roles": [[]]}}}},
    {"aliases": {"a": None, "b": ["c"], "c": {"d": 1}}},
    {"aliases": [1]},
    {"routing": {"fallbacks": {"m": "n"}, "context_window_fallbacks": [1]}},
    {"routing": "fast"},
    {"gateway": {"litellm_version": 1.827, "master_key": ["${X}"]}},
    {"providers": {"p": {"kind": ["azure"], "api_base": 3}}},
]


@pytest.mark.parametrize("data", [pytest.param(d, id=str(i)) for i, d in enumerate(MALFORMED)])
def test_malformed_shapes_do_not_break_validation(data: Any) -> None:
    doc = Document({"version": 1, **data}, ("m.yaml",))
    problems = validate(doc, environ={})
    assert problems, "each of these documents has a fault to report"


def test_semantic_rules_still_run_when_the_schema_fails() -> None:
    doc = Document(
        {
            "version": 1,
            "gatway": {},
            "models": {
                "m": {"runtime": "ollama", "source": "m", "placement": {"nodes": ["ghost"]}}
            },
        },
        ("m.yaml",),
    )
    assert sorted(p.code for p in validate(doc, environ={})) == ["unknown-field", "unknown-node"]


def test_unset_variables_warn_once_each() -> None:
    doc = Document(
        {
            "version": 1,
            "gateway": {"master_key": "${K}"},
            "providers": {
                "a": {"kind": "openai", "api_key": "${K}"},
                "b": {"kind": "groq", "api_key": "${G}"},
            },
        },
        ("m.yaml",),
    )
    problems = check_semantics(doc, environ={"G": "set"})
    assert [(p.code, p.severity, p.path) for p in problems] == [
        ("env-unset", Severity.WARNING, "$.gateway.master_key")
    ]


def test_memory_is_counted_once_per_node_and_only_where_the_runtime_is() -> None:
    doc = Document(
        {
            "version": 1,
            "nodes": {
                "a": {"address": "a", "memory_gb": 10, "runtimes": {"ollama": {}}},
                "b": {"address": "b", "memory_gb": 1, "runtimes": {"vllm": {}}},
            },
            "models": {
                "m": {
                    "runtime": "ollama",
                    "source": "m",
                    "memory_gb": 6,
                    "placement": {"nodes": ["a", "b"]},
                }
            },
        },
        ("m.yaml",),
    )
    codes = [p.code for p in check_semantics(doc, environ={})]
    assert codes == ["node-without-runtime"]  # b lacks ollama; its budget is not charged


NAMES = ["a", "b", "gpu", "ollama", "m"]
FIELDS = [
    "nodes",
    "roles",
    "runtimes",
    "runtime",
    "provider",
    "placement",
    "memory_gb",
    "port",
    "address",
    "api_key",
    "api_base",
    "kind",
    "source",
    "fallbacks",
    "ollama",
    "vllm",
    "master_key",
    "litellm_version",
    "a",
    "m",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.floats(allow_nan=False)
    | st.sampled_from(["", *NAMES, "vllm", "${X}", "sk-" + "a" * 20, "http://x/", "1.82.7"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=20,
)
# Shapes close to a mesh: sections of named entries whose fields hold arbitrary values.
fields = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5) | json_values
named = st.dictionaries(st.sampled_from(NAMES), fields, max_size=3) | json_values
sections = st.fixed_dictionaries(
    {},
    optional={
        "version": json_values,
        "gateway": fields,
        "nodes": named,
        "providers": named,
        "models": named,
        "aliases": json_values,
        "routing": fields,
    },
)


@pytest.mark.slow  # 500 generated documents
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections)
def test_no_input_shape_raises(data: dict[str, Any]) -> None:
    problems = validate(Document(data, ("m.yaml",)), environ={})
    assert all(p.location.file == "m.yaml" for p in problems)
    if not has_errors(problems):
        build_mesh(data)  # what passes validation, the model can build
