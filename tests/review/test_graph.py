"""`graph`: Mermaid and DOT golden files for every example, SVG through Graphviz, escaping."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reviewkit import TWELVE_NODES

from jarvis_config.errors import CommandError
from jarvis_config.model.mesh import build_mesh
from jarvis_config.review import graph
from tests.kit import HOMELAB, check_golden, compile_mesh, example_params

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)"
)


@pytest.mark.parametrize("example", example_params())
@pytest.mark.parametrize("fmt, suffix", [("mermaid", "mmd"), ("dot", "dot")])
def test_graph_matches_golden(example: Path, fmt: str, suffix: str, update_golden: bool) -> None:
    text = graph.render_graph(compile_mesh(example), fmt)
    name = f"graph.{suffix}"
    check_golden(example.name, {name: text}, owns=name, update=update_golden)


@needs_dot
@pytest.mark.parametrize("config", [*example_params(), pytest.param(TWELVE_NODES, id="twelve")])
def test_svg_is_valid_xml_with_every_node_and_model(config: Path) -> None:
    mesh = compile_mesh(config)
    root = ET.fromstring(graph.to_svg(mesh))
    assert root.tag == f"{SVG}svg"
    shown = {t.text for t in root.iter(f"{SVG}text")}
    for name in (
        [n.name for n in mesh.nodes]
        + [m.name for m in mesh.models]
        + [a.name for a in mesh.aliases]
    ):
        assert name in shown, f"{name} is not drawn"


@needs_dot
def test_dot_lays_out_names_that_need_quoting() -> None:
    mesh = build_mesh(
        {
            "nodes": {
                'gpu "1"\\': {"address": "10.0.0.1", "roles": ["gpu"], "runtimes": {"ollama": {}}}
            },
            "models": {
                "m<b>#x": {
                    "runtime": "ollama",
                    "source": "m",
                    "placement": {"nodes": ['gpu "1"\\']},
                }
            },
            "aliases": {"a`{x}": "m<b>#x"},
        }
    )
    root = ET.fromstring(graph.to_svg(mesh))
    shown = {t.text for t in root.iter(f"{SVG}text")}
    assert {'gpu "1"\\', "m<b>#x", "a`{x}"} <= shown


def test_mermaid_escapes_what_would_end_a_label() -> None:
    assert graph.mermaid_text('say "hi" <b>#1`') == "say #quot;hi#quot; #lt;b#gt;#35;1#96;"


def test_mermaid_ids_are_plain_words() -> None:
    text = graph.to_mermaid(compile_mesh(TWELVE_NODES))
    edges = [line.split() for line in text.splitlines() if "-->" in line or ".->" in line]
    assert edges
    for parts in edges:
        assert re.fullmatch(r"[a-z]\d+", parts[0]) and re.fullmatch(r"[a-z]\d+", parts[-1])


def test_twelve_nodes_are_grouped_by_role_and_models_by_category() -> None:
    text = graph.to_dot(compile_mesh(TWELVE_NODES))
    for cluster in (
        "cluster_role:gpu",
        "cluster_role:cpu",
        "cluster_role:edge",
        "cluster_category:code",
        "cluster_category:embedding",
    ):
        assert f'subgraph "{cluster}"' in text
    assert "rankdir=LR" in text


def test_missing_dot_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CommandError, match=r"Graphviz's `dot` program is not installed"):
        graph.dot_to("svg", "digraph {}")


def test_cli_svg_without_dot_exits_1_with_the_reason(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("graph", HOMELAB, "--format", "svg")
    assert result.exit_code == 1
    assert "install graphviz" in result.stderr


@needs_dot
def test_cli_prints_svg(cli: Callable[..., Any]) -> None:
    result = cli("graph", HOMELAB, "--format", "svg")
    assert result.exit_code == 0
    assert ET.fromstring(result.stdout).tag == f"{SVG}svg"


@needs_dot
def test_dot_output_is_accepted_by_graphviz() -> None:
    source = graph.to_dot(compile_mesh(TWELVE_NODES))
    result = subprocess.run(
        ["dot", "-Tcanon"], input=source, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "Graphviz warned about the generated DOT"


@needs_dot
def test_svg_is_drawn_without_columns_when_dot_crashes_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.which("dot")
    fake = tmp_path / "dot"
    # Crashes (SIGABRT) on rank constraints, as Graphviz 2.43 does on some cluster layouts.
    fake.write_text(
        f"""#!/bin/sh
src=$(cat)
case "$src" in *"rank=same"*) kill -ABRT $$ ;; esac
printf '%s' "$src" | exec {real} "$@"
""",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    root = ET.fromstring(graph.to_svg(compile_mesh(HOMELAB)))
    assert "llama3" in {t.text for t in root.iter(f"{SVG}text")}


@needs_dot
def test_the_svg_has_a_legend_for_its_edge_styles_and_no_edge_labels() -> None:
    mesh = compile_mesh(HOMELAB)  # aliases, serving edges, fallbacks and context fallbacks
    root = ET.fromstring(graph.to_svg(mesh))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Legend" in texts
    for kind in ("alias", "serves", "fallback", "context"):
        assert graph.LEGEND[kind][2] in texts, kind
    # Edge labels used to sit on cluster titles; the only "fallback" words are the legend's.
    assert [t for t in texts if t and "fallback" in t] == [
        graph.LEGEND["fallback"][2],
        graph.LEGEND["context"][2],
    ]


def test_the_legend_lists_only_the_edge_styles_drawn() -> None:
    mesh = build_mesh(
        {
            "providers": {"p": {"kind": "openai", "api_key": "${K}"}},
            "models": {"m": {"provider": "p", "source": "x"}},
        }
    )
    dot = graph.to_dot(mesh)
    assert graph.LEGEND["serves"][2] in dot
    assert graph.LEGEND["fallback"][2] not in dot
