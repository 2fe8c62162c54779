"""The one serializer of output data (`render.serialize`) and the one Jinja2 environment: a
value reaches a file only through the library made for its format, so whatever a name or a
parameter holds, the file parses back to exactly the data the renderer built."""

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
from jarvis_config.render import serialize, templating
from jarvis_config.render.serialize import to_json, to_yaml, to_yaml_documents

TRICKY = [
    "yes",
    "no",
    "null",
    "~",
    "on",
    "0x10",
    "1e3",
    "010",
    "0444",
    "4000:4000",
    "",
    " lead",
    "trail ",
    "a: b",
    "#x",
    "- item",
    "---",
    "...",
    "{x}",
    "[y]",
    "'q'",
    '"d"',
    "multi\nline",
    "ends\n",
    "\n",
    " indented\nblock\n",
    "blank lines\n\n\n",
    "trail \nspace\n",
    "tab\tin",
    "ünïcödé",
    "nel\x85in",
    "ls\u2028in",
    "*alias",
    "&anchor",
    "!tag",
    "%dir",
    "@at",
    "`tick`",
    "2024-06-01",
    "x" * 300,
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


@settings(max_examples=300, deadline=None)
@given(values)
def test_yaml_parses_back_to_the_value(value: Any) -> None:
    assert yaml.safe_load(to_yaml(value)) == value


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.text(), values, min_size=1, max_size=3), max_size=4))
def test_yaml_documents_parse_back_one_by_one(documents: list[dict[str, Any]]) -> None:
    assert list(yaml.safe_load_all(to_yaml_documents(documents))) == documents


@pytest.mark.parametrize("text", TRICKY)
def test_a_tricky_string_stays_a_string(text: str) -> None:
    assert yaml.safe_load(to_yaml(text)) == text
    assert yaml.safe_load(to_yaml({"k": [text]})) == {"k": [text]}


@pytest.mark.parametrize("text", [t for t in TRICKY if t.isascii()])
def test_a_value_never_adds_a_key_or_a_document(text: str) -> None:
    written = to_yaml_documents([{"a": text, "b": [text]}, {"c": text}])
    assert list(yaml.safe_load_all(written)) == [{"a": text, "b": [text]}, {"c": text}]


def test_a_file_held_as_a_multi_line_string_is_a_literal_block() -> None:
    body = "model_list:\n- model_name: x\n  litellm_params: {}\n"
    assert to_yaml({"data": {"config.yaml": body}}) == (
        "data:\n  config.yaml: |\n    model_list:\n    - model_name: x\n      litellm_params: {}\n"
    )


def test_non_ascii_is_written_as_escapes() -> None:
    # U+2028 is a line break to YAML 1.1 readers only: raw, it could read back two ways.
    assert to_yaml({"k": "ü\u2028"}) == 'k: "\\xFC\\L"\n'


def test_keys_keep_the_order_they_were_built_in_and_tuples_are_lists() -> None:
    assert to_yaml({"b": 1, "a": ("x", "y")}) == "b: 1\na:\n- x\n- y\n"


def test_a_shared_object_is_written_twice_not_as_an_alias() -> None:
    shared = {"app": "x"}
    assert "&" not in to_yaml({"one": shared, "two": shared})


def test_a_long_string_stays_on_one_line() -> None:
    text = " ".join(["word"] * 2000)
    assert to_yaml({"k": text}) == f"k: {text}\n"


def test_the_header_goes_before_the_document() -> None:
    assert to_yaml({"a": 1}, header="# made\n") == "# made\na: 1\n"


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    expected = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper
    assert issubclass(serialize.Dumper, expected)


def test_json_is_sorted_indented_ascii_and_parses_back() -> None:
    value = {"b": [1, "x\ny"], "a": {"z": None, "é": True}, "t": ("p", "q")}
    assert to_json(value) == json.dumps(value, indent=2, sort_keys=True) + "\n"
    assert json.loads(to_json(value)) == {**value, "t": ["p", "q"]}


def test_undefined_names_are_errors_not_empty_strings() -> None:
    template = templating.environment().from_string("{{ missing | md }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render()


def test_a_missing_template_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"template 'litellm/nope\.j2' is missing"):
        templating.render_template("litellm/nope.j2")
