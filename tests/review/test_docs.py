"""`docs`: golden pages for every example, examples that parse, escaping, atomic writing."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reviewkit import TWELVE_NODES

from jarvis_config.model.mesh import build_mesh
from jarvis_config.render.markdown import cell, code, fence, md
from jarvis_config.review import sitedocs
from jarvis_config.write import MARKER
from tests.kit import HOMELAB, check_golden, compile_mesh, example_params

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (test extra) is needed")


@pytest.mark.parametrize("example", example_params())
def test_docs_match_golden(example: Path, update_golden: bool) -> None:
    pages = sitedocs.render_docs(compile_mesh(example))
    assert sorted(pages) == sorted(sitedocs.PAGES)
    files = {f"docs/{name}": content.decode("utf-8") for name, content in pages.items()}
    check_golden(example.name, files, owns="docs/*", update=update_golden)


def code_blocks(page: str) -> list[tuple[str, str]]:
    tokens = markdown_it.MarkdownIt("commonmark").parse(page)
    return [(t.info, t.content) for t in tokens if t.type == "fence"]


@pytest.mark.parametrize("config", [*example_params(), pytest.param(TWELVE_NODES, id="twelve")])
def test_every_example_is_valid_python_and_shell(config: Path) -> None:
    pages = sitedocs.render_docs(compile_mesh(config))
    blocks = [b for page in pages.values() for b in code_blocks(page.decode("utf-8"))]
    assert {info for info, _ in blocks} == {"sh", "python"}
    for info, body in blocks:
        if info == "python":
            compile(body, "<docs example>", "exec")
        else:
            subprocess.run(["bash", "-n", "-c", body], check=True)
            assert shlex.split(body.replace("\\\n", " "))[0] == "curl"


def test_nodes_page_pins_each_node_that_serves_a_model() -> None:
    mesh = compile_mesh(TWELVE_NODES)
    page = sitedocs.render_docs(mesh)["nodes.md"].decode("utf-8")
    for node in mesh.nodes:
        assert f'"node": "{node.name}"' in page
        assert f'extra_body={{"node": "{node.name}"}}' in page
    assert "Pinning in this mesh is **prefer**" in page


def test_models_page_has_the_embeddings_example_only_when_there_is_an_embedding_model() -> None:
    with_embedding = sitedocs.render_docs(compile_mesh(TWELVE_NODES))["models.md"]
    assert b"/v1/embeddings" in with_embedding and b"client.embeddings.create" in with_embedding
    assert b"/v1/embeddings" not in sitedocs.render_docs(compile_mesh(HOMELAB))["models.md"]


def test_gateway_url_and_key_come_from_the_config_and_the_option() -> None:
    mesh = compile_mesh(HOMELAB)
    page = sitedocs.render_docs(mesh, gateway_url="https://gw.example:8443/")["README.md"]
    text = page.decode("utf-8")
    assert "curl -sS https://gw.example:8443/v1/chat/completions" in text
    assert 'os.environ["JARVIS_MASTER_KEY"]' in text and "$JARVIS_MASTER_KEY" in text
    assert "http://localhost:4000/v1" in sitedocs.render_docs(mesh)["README.md"].decode("utf-8")


HOSTILE = "x|y *b* [l](u) <i> `c` \\ # \"q\" 's'"


def hostile_mesh() -> Any:
    return build_mesh(
        {
            "gateway": {"port": 4100},
            "nodes": {"n|1": {"address": "10.0.0.1", "roles": ["r|*"], "runtimes": {"ollama": {}}}},
            "models": {
                "m`1|*": {
                    "runtime": "ollama",
                    "source": "s",
                    "description": HOSTILE,
                    "placement": {"nodes": ["n|1"]},
                    "category": "general",
                }
            },
            "aliases": {"a'b": "m`1|*"},
        }
    )


def row_widths(tokens: list[Any]) -> list[int]:
    widths: list[int] = []
    for token in tokens:
        if token.type == "tr_open":
            widths.append(0)
        elif token.type in ("th_open", "td_open"):
            widths[-1] += 1
    return widths


def test_hostile_names_cannot_break_tables_code_or_examples() -> None:
    pages = sitedocs.render_docs(hostile_mesh())
    models = pages["models.md"].decode("utf-8")
    parser = markdown_it.MarkdownIt("commonmark").enable("table")
    tokens = parser.parse(models)
    cells_per_row = row_widths(tokens)
    assert set(cells_per_row[:2]) == {3}, "the category table kept its three columns"
    assert set(cells_per_row[2:]) == {2}, "the model table kept its two columns"
    node_tokens = parser.parse(pages["nodes.md"].decode("utf-8"))
    assert set(row_widths(node_tokens)) == {4}, "the node tables kept their four columns"
    shown = [t.content for t in node_tokens if t.type == "code_inline"] + [
        c.content for t in node_tokens if t.children for c in t.children if c.type == "code_inline"
    ]
    assert "n|1" in shown and "m`1|*" in shown
    inline = "".join(t.content for t in tokens if t.type == "inline")
    assert "m`1|*" in inline and HOSTILE.replace("\\", "\\\\") not in models
    for info, body in code_blocks(models) + code_blocks(pages["nodes.md"].decode("utf-8")):
        if info == "python":
            compile(body, "<docs example>", "exec")
            assert '"a\'b"' in body or '"m`1|*"' in body
        else:
            words = shlex.split(body.replace("\\\n", " "))
            assert words[0] == "curl"


def test_hostile_prose_renders_to_the_same_text() -> None:
    rendered = markdown_it.MarkdownIt("commonmark").renderInline(md(HOSTILE))
    assert rendered == (
        HOSTILE.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


@pytest.mark.parametrize("text", ["- item", "1. first", "# heading", "+ plus", "=== rule"])
def test_prose_never_starts_a_block(text: str) -> None:
    tokens = markdown_it.MarkdownIt("commonmark").parse(md(text))
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    assert tokens[1].children is not None
    assert "".join(c.content for c in tokens[1].children) == text


def test_code_span_and_fence_hold_backticks() -> None:
    parser = markdown_it.MarkdownIt("commonmark")
    assert parser.renderInline(code("a``b")) == "<code>a``b</code>"
    assert parser.renderInline(code("`x`")) == "<code>`x`</code>"
    assert code_blocks(fence("```\ninner\n```", "sh")) == [("sh", "```\ninner\n```\n")]
    assert cell("`a|b`") == "`a\\|b`"


def test_cli_writes_pages_atomically_and_check_detects_drift(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "site"
    first = cli("docs", HOMELAB, "-o", out)
    assert first.exit_code == 0, first.stderr
    assert first.stdout == f"wrote 3 pages to {out}\n"
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, *sitedocs.PAGES])
    assert cli("docs", HOMELAB, "-o", out, "--check").exit_code == 0
    (out / "models.md").write_text("hand edit\n", encoding="utf-8")
    stale = cli("docs", HOMELAB, "-o", out, "--check")
    assert stale.exit_code == 1
    assert "-hand edit" in stale.stdout and "is stale" in stale.stderr


def test_cli_refuses_a_folder_it_did_not_write(cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("mine\n", encoding="utf-8")
    result = cli("docs", HOMELAB, "-o", tmp_path)
    assert result.exit_code == 1
    assert "was not written by jarvis-config" in result.stderr
    assert (tmp_path / "notes.md").read_text(encoding="utf-8") == "mine\n"


def test_cli_check_and_force_conflict(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("docs", HOMELAB, "-o", tmp_path, "--check", "--force")
    assert result.exit_code == 2
    assert "cannot be combined with --force" in result.stderr


def test_check_hint_keeps_the_gateway_url(cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "site"
    url = "https://gw.example:8443"
    assert cli("docs", HOMELAB, "-o", out, "--gateway-url", url).exit_code == 0
    assert cli("docs", HOMELAB, "-o", out, "--gateway-url", url, "--check").exit_code == 0
    (out / "README.md").write_text("edited\n")
    stale = cli("docs", HOMELAB, "-o", out, "--gateway-url", url, "--check")
    assert stale.exit_code == 1
    assert stale.stderr.splitlines()[-1] == (
        f"error: {out} is stale; run: jarvis-config docs {HOMELAB} -o {out} --gateway-url {url}"
    )
