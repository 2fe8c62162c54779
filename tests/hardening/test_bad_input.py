"""Adversarial input found by fuzzing (and a few written by hand), kept as regression cases:
each must end in exit 1 with well-formed FILE:LINE:COL problems, one line each, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hardkit import PROBLEM, assert_no_traceback

PLACED = "version: 1\nnodes:\n  n1: {address: n1.lan, roles: [gpu], runtimes: {ollama: {}}}\n"
OTHER_LINES = ("  hint: ", "1 config invalid: ")

CASES = [
    # load: values PyYAML's constructors raise on, tags on collections, forbidden characters
    pytest.param("version: !!int one\n", "bad-scalar", id="int-tag-on-word"),
    pytest.param("version: !!float x\n", "bad-scalar", id="float-tag-on-word"),
    pytest.param("version: !!bool maybe\n", "bad-scalar", id="bool-tag-on-word"),
    pytest.param("version: " + "9" * 5000 + "\n", "bad-scalar", id="int-over-4300-digits"),
    pytest.param("version: .nan\n", "not-finite", id="nan"),
    pytest.param("version: 1\ngateway: {port: -.inf}\n", "not-finite", id="minus-infinity"),
    pytest.param("version: 1.0e+999\n", "not-finite", id="float-overflow"),
    pytest.param("version: 1\nnodes: !!set {a, b}\n", "unsupported-tag", id="set-tag"),
    pytest.param("version: 1\nnodes: !!omap [a: 1]\n", "unsupported-tag", id="omap-tag"),
    pytest.param(
        "version: 1\nnodes: !!python/object:x {a: 1}\n",
        "unsupported-tag",
        id="python-tag-on-mapping",
    ),
    pytest.param("version: 1\nnodes: !!map x\n", "unsupported-tag", id="map-tag-on-scalar"),
    pytest.param("version: 1\nnodes:\n  a\x1f: 1\n", "yaml-character", id="control-character"),
    pytest.param("version: 1\nx: \x85\x07\n", "yaml-character", id="bell-character"),
    pytest.param(
        "a:\n" + "".join("  " * i + "- \n" for i in range(80)), "too-deep", id="deep-block-nesting"
    ),
    # semantics: wrong types where names are expected (hashing a list or dict)
    pytest.param(
        PLACED + "models:\n  m: {runtime: [], source: x, placement: {nodes: [n1]}}\n",
        None,
        id="runtime-is-a-list",
    ),
    pytest.param(
        PLACED + "models:\n  m: {runtime: {}, source: x, placement: {roles: [gpu]}}\n",
        None,
        id="runtime-is-a-mapping",
    ),
    pytest.param(
        PLACED + "models:\n  m: {runtime: ollama, source: x, placement: {nodes: [[n]]}}\n",
        None,
        id="placement-node-is-a-list",
    ),
    pytest.param(
        PLACED + "models:\n  m: {runtime: ollama, source: x, placement: {roles: [{}]}}\n",
        None,
        id="placement-role-is-a-mapping",
    ),
    pytest.param(
        PLACED + "models:\n  m: {runtime: ollama, source: x, placement: {nodes: [n1]}}\n"
        'aliases: {"a\\nb": m, fast: nothing}\n',
        None,
        id="newline-in-a-name",
    ),
    pytest.param(
        PLACED + "models:\n  m: {runtime: ollama, source: x, placement: {nodes: [n1]}}\n"
        "routing: {fallbacks: {m: [[x]]}}\n",
        None,
        id="fallback-target-is-a-list",
    ),
    pytest.param(
        PLACED + "models:\n  m: {runtime: ollama, source: x, placement: {nodes: [n1]}}\n"
        "aliases: {x: [m]}\n",
        None,
        id="alias-target-is-a-list",
    ),
    # a second vLLM model on a node takes the runtime's port + 1, here llama.cpp's port
    pytest.param(
        "version: 1\nnodes:\n  n1: {address: n1.lan, runtimes: {vllm: {port: 8000}, "
        "llamacpp: {port: 8001}}}\nmodels:\n"
        "  a: {runtime: vllm, source: org/a, placement: {nodes: [n1]}}\n"
        "  b: {runtime: vllm, source: org/b, placement: {nodes: [n1]}}\n"
        "  c: {runtime: llamacpp, source: c, placement: {nodes: [n1]}}\n",
        None,
        id="derived-port-collides",
    ),
]


@pytest.mark.parametrize(("text", "code"), CASES)
def test_bad_input_is_reported_as_problems(
    cli: Callable[..., Any],
    tmp_path: Path,
    text: str,
    code: str | None,
) -> None:
    config = tmp_path / "jarvis.yaml"
    config.write_bytes(text.encode("utf-8"))
    result = cli("validate", config)
    assert_no_traceback(result)
    assert result.exit_code == 1, result.stderr
    problems = []
    for line in result.stderr.splitlines():
        match = PROBLEM.match(line)
        assert match or line.startswith(OTHER_LINES), f"malformed output line {line!r}"
        if match:
            assert match["file"] == str(config)
            problems.append(match)
    assert problems, result.stderr
    if code is not None:
        assert code in {m["code"] for m in problems}, result.stderr
