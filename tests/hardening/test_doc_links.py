"""Generated docs never hold a live link from a config's text: URLs, `www.` names and e-mail
addresses in a description are rendered by GitHub's own Markdown renderer (cmark-gfm with
its autolink extension) as text, never as `<a>`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jarvis_config.render.markdown import md

pytest.importorskip(
    "cmarkgfm", reason="GitHub's Markdown renderer, cmarkgfm, is needed (the test extra)"
)
pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import given
from hypothesis import strategies as st

LINKS = [
    "https://evil.example/login",
    "http://evil.example",
    "HTTPS://EVIL.EXAMPLE",
    "www.evil.example/login",
    "bob@evil.example",
    "mailto:bob@evil.example",
    "xmpp:bob@evil.example",
    "ftp://evil.example",
    "(https://evil.example)",
    "*www.evil.example*",
    "~bob@evil.example~",
    "_https://evil.example_",
    "a|https://evil.example|b",
    "[login](https://evil.example)",
    "<https://evil.example>",
    "![x](https://evil.example/x.png)",
    "[x]: https://evil.example",
]


def html(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, Options.CMARK_OPT_UNSAFE)


@pytest.mark.parametrize("text", LINKS)
@pytest.mark.parametrize("where", ["{}", "see {} now", "| a | {} |"])
def test_no_description_becomes_a_link(text: str, where: str) -> None:
    if where.startswith("|"):  # a table cell, as the docs pages put descriptions
        rendered = html(f"| a | b |\n|---|---|\n| a | {md(text)} |\n")
    else:
        rendered = html(where.format(md(text)))
    assert "<a " not in rendered and "<img" not in rendered, rendered
    assert "evil" in rendered.lower()


@given(
    st.lists(
        st.sampled_from([*LINKS, " ", "a", "_", "|", "`", "\\", "www.", "@", ".", ":", "//", "-"]),
        max_size=8,
    ).map("".join)
)
def test_no_mix_of_link_pieces_becomes_a_link(text: str) -> None:
    assert "<a " not in html(f"x {md(text)}")


def test_the_docs_of_a_mesh_have_no_links_from_its_text(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    config = tmp_path / "jarvis.yaml"
    config.write_text(
        "version: 1\nnodes:\n  n1: {address: n1.lan, runtimes: {ollama: {}}}\nmodels:\n"
        "  llama3: {runtime: ollama, source: 'llama3:8b', placement: {nodes: [n1]}, "
        "description: 'log in at https://evil.example/login or www.evil.example, "
        "or mail bob@evil.example'}\n",
        encoding="utf-8",
    )
    assert cli("docs", config, "-o", tmp_path / "site").exit_code == 0
    for page in (tmp_path / "site").glob("*.md"):
        links = [
            line for line in html(page.read_text("utf-8")).splitlines() if "evil.example" in line
        ]
        assert all("<a " not in line for line in links), links
        assert links or page.name != "models.md"
