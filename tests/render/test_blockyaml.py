"""The fast YAML writer writes exactly the bytes PyYAML writes, so switching between the two
never changes a build's output; and it hands PyYAML what it cannot prove it writes alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jarvis_config.render import blockyaml, render_targets
from jarvis_config.render.blockyaml import pyyaml_dump
from jarvis_config.render.templating import to_yaml
from tests.kit import compile_mesh, example_params

# Strings in the shapes a build writes (ids, URLs, flags, env references, port mappings) and
# near misses of each that a YAML reader would take for another type or that need quotes.
SHAPED = [
    "llama3@ai-max",
    "http://10.0.0.1:11434",
    "--port",
    "-fsS",
    "os.environ/KEY",
    "${VAR:?set VAR}",
    "8080:8080",
    "80:80",
    "1:30",
    "0444",
    "0x1F",
    "1_000",
    "+1",
    "-1",
    ".5",
    "-.inf",
    ".NaN",
    "1e3",
    "2024-06-01",
    "2024-06-01 10:00:00",
    "true",
    "Off",
    "y",
    "n",
    "NULL",
    "~",
    "=",
    "<<",
    "---x",
    "...x",
    "-",
    "--",
    "a:",
    "a :b",
    "a, b",
    "a #b",
    "a#b",
    "key: value",
    "CMD",
    "0.0.0.0",
    "node.labels.x == true",
    "a  b",
    "x" * 130,
    "x" * 5000,
    "ünï",
    "tab\there",
    "two\nlines",
    "",
    " ",
    "a ",
    "@x",
    "%x",
    "!x",
    "&x",
    "*x",
    "|",
    ">",
    "?x",
    "{x}",
    "[x]",
    "'q'",
    '"d"',
    "`t`",
]
_CHARS = st.characters(codec="ascii") | st.sampled_from("éü\x85\u2028\t\n")
strings = st.one_of(
    st.sampled_from(SHAPED),
    st.text(_CHARS, max_size=12),
    st.from_regex(r"[a-z0-9:/.@ ,$_-]{1,20}", fullmatch=True),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), strings, st.floats(allow_nan=False))
keys = st.one_of(strings, st.integers(min_value=-5, max_value=5))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=25,
)
blocks = st.one_of(
    st.lists(values, min_size=1, max_size=4), st.dictionaries(keys, values, min_size=1, max_size=4)
)


@settings(max_examples=1500, deadline=None)
@given(blocks, st.sampled_from([0, 2, 6]))
@example({"model_list": [{"model_name": "m@n", "litellm_params": {"tags": ["node:n"]}}]}, 2)
@example([[["deep"]], [{}], [[]], {"k": []}], 0)
def test_the_fast_writer_writes_what_pyyaml_writes(value: Any, indent: int) -> None:
    assert to_yaml(value, indent) == pyyaml_dump(value, indent)


@settings(max_examples=1500, deadline=None)
@given(scalars)
def test_a_scalar_is_written_as_pyyaml_writes_it(value: Any) -> None:
    assert to_yaml(value) == blockyaml.pyyaml_scalar(value)


@pytest.mark.parametrize("text", SHAPED)
def test_a_shaped_string_reads_back_as_itself(text: str) -> None:
    assert yaml.safe_load(to_yaml({"k": [text]})) == {"k": [text]}


@pytest.mark.parametrize("text", ["llama3@ai-max", "--port", "http://h:1/v1", "a, b c"])
def test_common_strings_take_the_fast_path_bare(text: str) -> None:
    assert blockyaml.scalar_text(text) == text


@pytest.mark.parametrize("text", ["1:30", "true", "0444", "1.5e+3", "", "a: b", "-", "---x"])
def test_strings_that_would_read_back_as_another_thing_are_quoted(text: str) -> None:
    assert blockyaml.scalar_text(text) != text


@pytest.mark.parametrize(
    "value",
    [{"k": "two\nlines"}, ["x" * 5000], {"k" * 200: 1}, {(1, 2): "tuple key"}, {"k": {1, 2}}],
)
def test_values_beyond_the_fast_writer_go_to_pyyaml(value: Any) -> None:
    with pytest.raises(blockyaml.Unwritable):
        "\n".join(blockyaml._lines(value, 0, ""))


@pytest.mark.parametrize("example", example_params())
def test_every_example_builds_the_same_bytes_through_pyyaml_alone(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The goldens were first written through PyYAML alone: a whole build through the fast
    writer and the same build with the fast writer switched off stay byte-identical."""
    mesh = compile_mesh(example)
    fast = render_targets(mesh)
    monkeypatch.setattr(blockyaml, "dump", blockyaml.pyyaml_dump)
    monkeypatch.setattr(blockyaml, "dump_str", blockyaml.pyyaml_dump)
    assert render_targets(mesh) == fast
