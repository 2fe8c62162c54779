"""Random arguments: the entry point's reader of plain `validate` calls either declines them
(click reads them) or finds exactly the parameters click finds."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st

from jarvis_config.entry import plain_validate
from tests.cli.test_entry import click_reading

TOKENS = [
    "validate", "build", "mesh.yaml", "dir/", "a b.yaml", "-", "--", "",
    "--strict", "--stric", "--format", "--format=", "--format=json", "--format=github",
    "--format=text", "--format=sarif", "text", "json", "github", "sarif",
    "-h", "--help", "--traceback", "-o", "--version", "-V", "--formats",
]  # fmt: skip

# Mostly calls of validate, where the reader can go wrong; some of anything.
ARGUMENTS = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=5).map(lambda rest: ["validate", *rest]),
    st.lists(st.sampled_from(TOKENS), max_size=5),
)


@settings(max_examples=600, deadline=None)
@given(ARGUMENTS)
def test_the_plain_reader_declines_or_agrees_with_click(args: list[str]) -> None:
    ours = plain_validate(args)
    if ours is not None:
        assert ours == click_reading(args)
