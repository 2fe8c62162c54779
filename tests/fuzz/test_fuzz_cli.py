"""Fuzzing the CLI: mutated examples, edited YAML text and random input through `validate` and
`build` must end in exit 0, or exit 1 with FILE:LINE:COL problems; never a traceback or a hang.

Profile: JARVIS_FUZZ_PROFILE=ci (default, bounded) | long (by hand) | smoke. See docs/hardening.md.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from fuzzkit import (
    VALUES,
    Seed,
    assert_clean_answer,
    dump,
    fuzz_settings,
    mutated,
    no_hang,
    seed_texts,
    seeds,
    text_edit,
    write_mesh,
)
from hypothesis import event, given
from hypothesis import strategies as st

SEEDS = seeds()
TEXTS = seed_texts()
SECTIONS = ["version", "gateway", "nodes", "providers", "models", "aliases", "routing"]

# Slow: the bulk of the suite's time, so outside the contributors' fast tier (CI runs it).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SEEDS, reason="no example configs under examples/ to mutate"),
]


def run_both(cli: Callable[..., Any], mesh: Path, *, build: bool = True) -> None:
    """`validate` then `build` on one mesh; both must answer cleanly."""
    with no_hang():
        result = cli("validate", mesh)
    assert_clean_answer(result, mesh)
    event(f"validate exit {result.exit_code}")  # shown by --hypothesis-show-statistics
    if not build:
        return
    with tempfile.TemporaryDirectory() as scratch, no_hang():
        built = cli("build", mesh, "-o", Path(scratch) / "out")
    assert_clean_answer(built, mesh)
    # What validates must build, and what does not validate must not build.
    assert built.exit_code == result.exit_code, (
        f"validate said {result.exit_code}, build said {built.exit_code}:\n{built.stderr}"
    )


@st.composite
def mutated_seed(draw: st.DrawFn) -> dict[str, str]:
    """The files of one example mesh, {relative path: text}, one of them mutated."""
    seed: Seed = draw(st.sampled_from(SEEDS))
    target = draw(st.sampled_from(sorted(seed.files)))
    files = {name: dump(data) for name, data in seed.files.items()}
    files[target] = dump(draw(mutated(seed.files[target])))
    return files


@fuzz_settings(2500)
@given(case=mutated_seed())
def test_mutated_examples_validate(cli: Callable[..., Any], case: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        mesh = write_mesh(Path(scratch) / "mesh", case)
        run_both(cli, mesh, build=False)


@fuzz_settings(1000)
@given(case=mutated_seed())
def test_mutated_examples_build(cli: Callable[..., Any], case: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        mesh = write_mesh(Path(scratch) / "mesh", case)
        run_both(cli, mesh)


@st.composite
def edited_text(draw: st.DrawFn) -> tuple[str, str]:
    name, text = draw(st.sampled_from(TEXTS))
    return name, draw(text_edit(text))


@fuzz_settings(2500)
@given(case=edited_text())
def test_edited_yaml_text(cli: Callable[..., Any], case: tuple[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        mesh = Path(scratch) / "jarvis.yaml"
        mesh.write_bytes(case[1].encode("utf-8", "surrogatepass"))
        run_both(cli, mesh, build=False)


@fuzz_settings(1000)
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_bytes(cli: Callable[..., Any], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        mesh = Path(scratch) / "jarvis.yaml"
        mesh.write_bytes(raw)
        run_both(cli, mesh, build=False)


@fuzz_settings(1000)
@given(data=st.dictionaries(st.sampled_from(SECTIONS), VALUES, max_size=7))
def test_random_sections(cli: Callable[..., Any], data: dict[str, Any]) -> None:
    """Known section names holding random structures: the schema's and semantics' job."""
    with tempfile.TemporaryDirectory() as scratch:
        mesh = Path(scratch) / "jarvis.yaml"
        mesh.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        run_both(cli, mesh)
