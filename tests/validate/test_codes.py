"""The catalogue of problem codes: complete, honest and current.

Every code a rule declares, the source emits or the corpus expects is in the catalogue; every
catalogue entry is declared by a rule; each rule emits only the codes it declares; each example
fails with its code; docs/codes.md is generated from the catalogue.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeGuard

import pytest

from jarvis_config import live, load, pipeline
from jarvis_config.load import load_path, load_text
from jarvis_config.validate import hostile, outputs, schema, semantics
from jarvis_config.validate.codes import CODES, catalogue_markdown, declared
from tests.kit import CASES, ROOT

SOURCES = [
    ROOT / "jarvis_config" / "load.py",
    *sorted((ROOT / "jarvis_config").rglob("validate/*.py")),
    *sorted((ROOT / "jarvis_config").rglob("live/*.py")),
]
CODE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
EMITTERS = {"Problem", "_problem", "_Refused", "_add", "problem_at"}
REPORTED = re.compile(r"^\S+?(?::\d+:\d+)?: (?:error|warning)\[([^\]]+)\]", re.MULTILINE)


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_code_message_hint(value: ast.expr | None) -> TypeGuard[ast.Tuple]:
    """A returned (code, message, hint) tuple, not a path such as ("nodes", name, ...)."""
    if not isinstance(value, ast.Tuple) or len(value.elts) != 3:
        return False
    message = value.elts[1]
    return isinstance(message, ast.JoinedStr) or (
        isinstance(message, ast.Constant) and isinstance(message.value, str)
    )


def _literals(tree: ast.AST) -> Iterator[str]:
    """Code-shaped string literals handed to a problem constructor, or returned first in a
    (code, message, hint) tuple."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in EMITTERS:
            candidates = node.args
        elif isinstance(node, ast.Return) and _is_code_message_hint(node.value):
            candidates = node.value.elts[:1]
        else:
            continue
        for arg in candidates:
            if (
                isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and CODE.match(arg.value)
            ):
                yield arg.value


def source_codes() -> set[str]:
    return {code for path in SOURCES for code in _literals(ast.parse(path.read_text("utf-8")))}


def _rules(module: object) -> list[Callable[..., Any]]:
    return [f for f in vars(module).values() if callable(f) and declared(f)]


def declared_codes() -> set[str]:
    rules = _rules(semantics) + _rules(schema) + _rules(hostile) + _rules(outputs)
    found = {code for rule in rules for code in declared(rule)}
    return set(load.EMITS) | set(live.EMITS) | found


def corpus_codes() -> set[str]:
    texts = (p.read_text("utf-8") for p in CASES.glob("invalid/*/expected.txt"))
    return {code for text in texts for code in REPORTED.findall(text)}


def test_the_source_scan_finds_the_emitted_codes() -> None:
    """Guards the scanner itself: it must see codes from each stage, and doctor's."""
    assert {
        "yaml-syntax",
        "duplicate-key",
        "wrong-type",
        "alias-cycle",
        "bad-address",
        "bad-url",
        "model-not-served",
    } <= source_codes()


@pytest.mark.parametrize(
    "where, codes",
    [
        pytest.param("source literals", source_codes, id="source"),
        pytest.param("rule declarations", declared_codes, id="declared"),
        pytest.param("corpus expected.txt", corpus_codes, id="corpus"),
    ],
)
def test_every_code_is_in_the_catalogue(where: str, codes: Callable[[], set[str]]) -> None:
    missing = sorted(codes() - set(CODES))
    assert not missing, f"codes in the {where} missing from jarvis_config/validate/codes.py"


def test_every_catalogue_code_is_declared_by_a_rule() -> None:
    assert sorted(set(CODES) - declared_codes()) == []


def test_every_semantic_rule_declares_its_codes() -> None:
    rules = [*semantics.RULES, *hostile.RULES, *hostile.MESH_RULES, *outputs.RULES]
    assert [rule.__name__ for rule in rules if not declared(rule)] == []
    assert [h.__name__ for h in schema.HANDLERS.values() if not declared(h)] == []


def test_the_catalogue_is_sorted_so_merges_stay_simple() -> None:
    assert list(CODES) == sorted(CODES)


# Cases the loader accepts: their semantic rules run (the loader's own codes are checked above).
LOADED = [
    pytest.param(p, id=p.name)
    for p in sorted(CASES.glob("invalid/*/"))
    if load_path(p)[0] is not None
]


@pytest.mark.parametrize("case", LOADED)
def test_each_rule_emits_only_what_it_declares(case: Path) -> None:
    doc, _ = load_path(case)
    assert doc is not None
    view = semantics.View(doc, {})
    for rule in semantics.RULES:
        emitted = {problem.code for problem in rule(view)}
        assert emitted <= set(declared(rule)), rule.__name__
    walk = hostile.Walk.of(doc.data)
    for hostile_rule in hostile.RULES:
        emitted = {problem.code for problem in hostile_rule(view, walk)}
        assert emitted <= set(declared(hostile_rule)), hostile_rule.__name__
    for output_rule in outputs.RULES:
        emitted = {problem.code for problem in output_rule(view, walk)}
        assert emitted <= set(declared(output_rule)), output_rule.__name__


EXAMPLES = [
    pytest.param(name, code.example, id=name)
    for name, code in CODES.items()
    if not code.example.startswith("$ ")
]


@pytest.mark.parametrize("name, example", EXAMPLES)
def test_each_example_fails_with_its_code(name: str, example: str) -> None:
    doc, problems = load_text(example, "jarvis.yaml", expect_mesh=True)
    if doc is not None and not any(p.is_error for p in problems):
        problems += pipeline.validate(doc, environ={})
    assert name in {p.code for p in problems}, [str(p) for p in problems]


def test_codes_md_is_generated_from_the_catalogue(update_golden: bool) -> None:
    page = ROOT / "docs" / "codes.md"
    if update_golden:
        page.write_text(catalogue_markdown(), encoding="utf-8")
    assert page.read_text("utf-8") == catalogue_markdown(), "run pytest --update-golden"
