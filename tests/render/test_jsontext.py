"""The fast JSON writer writes exactly what `json.dumps(indent=2, sort_keys=True)` writes, so
switching between the two never changes routes.json."""

from __future__ import annotations

import json
import math
from types import MappingProxyType
from typing import Any

import pytest

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jarvis_config.render import jsontext
from jarvis_config.render.blockyaml import plain

_CHARS = st.characters(codec="utf-8") | st.sampled_from('"\\\x00\x1f\x7féü\x85\u2028\t\n')
strings = st.text(_CHARS, max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), strings, st.floats(allow_nan=True))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(strings, inner, max_size=4),
        st.dictionaries(strings, inner, max_size=3).map(MappingProxyType),
    ),
    max_leaves=25,
)


def reference(value: Any) -> str:
    return json.dumps(plain(value), indent=2, sort_keys=True)


@settings(max_examples=1500, deadline=None)
@given(values)
@example({"b": [], "a": {}, "c": [{"x": ()}], "d": -0.0})
@example([math.inf, -math.inf, 1e300, 10**30, True, None])
def test_the_fast_writer_writes_what_json_dumps_writes(value: Any) -> None:
    assert jsontext.dumps(value) == reference(value)


@pytest.mark.parametrize("value", [{1: "a", 2: "b"}, {"k": {None: 1}}, [{True: 1}], {"s": {1}}])
def test_values_beyond_the_fast_writer_go_to_json_dumps(value: Any) -> None:
    try:
        expected = reference(value)
    except TypeError:
        with pytest.raises(TypeError):
            jsontext.dumps(value)
    else:
        assert jsontext.dumps(value) == expected
