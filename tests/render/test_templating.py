"""The shared Jinja2 environment: values reach the output only through serializing filters,
so whatever a name or parameter holds, the output parses back to exactly the data."""

from __future__ import annotations

import json
from typing import Any

import jinja2
import pytest
import yaml

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st

from jarvis_config.errors import RenderError
from jarvis_config.render import templating
from jarvis_config.render.templating import to_json, to_yaml

TRICKY = [
    "yes",
    "no",
    "null",
    "~",
    "on",
    "0x10",
    "1e3",
    "010",
    "",
    " lead",
    "trail ",
    "a: b",
    "#x",
    "- item",
    "{x}",
    "[y]",
    "'q'",
    '"d"',
    "multi\nline",
    "tab\tin",
    "ünïcödé",
    "*alias",
    "&anchor",
    "!tag",
    "%dir",
    "@at",
    "`tick`",
    "2024-06-01",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(),
    st.floats(allow_nan=False),
    st.sampled_from(TRICKY),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(), st.sampled_from(TRICKY)), inner, max_size=4),
    ),
    max_leaves=20,
)


def parse_under_key(text: str) -> Any:
    return (
        yaml.safe_load("key:\n" + text)["key"]
        if "\n" in text or text.startswith(" ")
        else yaml.safe_load("key: " + text)["key"]
    )


@settings(max_examples=300, deadline=None)
@given(values)
def test_yaml_filter_output_parses_back_to_the_value(value: Any) -> None:
    assert yaml.safe_load(to_yaml(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), values, min_size=1, max_size=4))
def test_an_indented_mapping_parses_back_under_its_key(value: dict[str, Any]) -> None:
    assert parse_under_key(to_yaml(value, 2)) == value


@pytest.mark.parametrize("text", TRICKY)
def test_a_tricky_string_stays_a_string(text: str) -> None:
    assert yaml.safe_load(to_yaml(text)) == text
    assert yaml.safe_load(to_yaml({"k": [text]}, 2).strip()) == {"k": [text]}


def test_json_filter_is_sorted_and_parses_back() -> None:
    value = {"b": [1, "x\ny"], "a": {"z": None, "é": True}}
    assert to_json(value) == json.dumps(value, indent=2, sort_keys=True)
    assert json.loads(to_json(value)) == value


def test_undefined_names_are_errors_not_empty_strings() -> None:
    template = templating.environment().from_string("{{ missing | yaml }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render()


def test_a_missing_template_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"template 'litellm/nope\.j2' is missing"):
        templating.render_template("litellm/nope.j2")


_LINES = st.text(st.sampled_from("ab \n\n\r\x0c\x85\u2028"), max_size=30)


@settings(max_examples=1000, deadline=None)
@given(_LINES, st.sampled_from([0, 2, 4]))
def test_indent_text_writes_what_jinjas_indent_writes(text: str, width: int) -> None:
    assert templating.indent_text(text, width) == jinja2.filters.do_indent(text, width, True)
