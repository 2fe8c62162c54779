"""What a new user met on a first try, each fixed and kept fixed: messages that point at the
right cause and the right next step."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRunner = Callable[..., Any]
UNSET = "JARVIS_ROUGH_EDGES_UNSET"
UNSET_KEY = f'version: 1\ngateway:\n  master_key: "${{{UNSET}}}"\n'


def _validate(cli: CliRunner, tmp_path: Path, text: str, *options: str) -> Any:
    config = tmp_path / "jarvis.yaml"
    config.write_text(text, encoding="utf-8")
    return cli("validate", *options, config)


@pytest.mark.parametrize(
    "options, line",
    [
        pytest.param(
            (),
            "  hint: set it where the mesh is built and deployed; --strict makes this an error",
            id="warning",
        ),
        pytest.param(
            ("--strict",), "  hint: set it where the mesh is built and deployed", id="strict"
        ),
    ],
)
def test_only_a_warning_says_that_strict_makes_it_an_error(
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
    line: str,
) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    result = _validate(cli, tmp_path, UNSET_KEY, *options)
    assert result.stderr.splitlines()[1] == line


def test_a_file_that_is_not_a_mesh_gets_one_error_saying_so(cli: CliRunner, tmp_path: Path) -> None:
    workflow = "name: ci\non: push\njobs:\n  test: {runs-on: ubuntu-latest}\n"
    result = _validate(cli, tmp_path, workflow)
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"{tmp_path / 'jarvis.yaml'}: error[not-a-mesh]: this is not a jarvis-config mesh: none "
        "of its top-level keys ('name', 'on', 'jobs') is a section of one (version, gateway, "
        "nodes, providers, models, aliases, routing)"
    )
    assert lines[-1] == "1 config invalid: 1 error, 0 warnings"


def test_a_mesh_with_a_misspelt_section_is_still_a_mesh(cli: CliRunner, tmp_path: Path) -> None:
    result = _validate(cli, tmp_path, "modles: {}\n")
    assert "error[unknown-field]: unknown section 'modles'" in result.stderr
    assert "not-a-mesh" not in result.stderr


def test_a_syntax_error_has_no_json_path(cli: CliRunner, tmp_path: Path) -> None:
    result = _validate(cli, tmp_path, "version: 1\nnodes: {a: [}\n")
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'jarvis.yaml'}:2:")
    assert "error[yaml-syntax]" in first
    assert "(at " not in first


def test_a_missing_file_has_no_line_or_column(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("validate", tmp_path / "nosuch.yaml")
    assert result.stderr.splitlines()[0] == (
        f"{tmp_path / 'nosuch.yaml'}: error[file-not-found]: no such file or directory"
    )


def test_whole_file_problems_have_no_line_in_github_or_json(cli: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nosuch.yaml"
    github = cli("validate", "--format", "github", missing).stdout
    assert github.startswith(f"::error file={missing},title=jarvis-config file-not-found::")
    report = json.loads(cli("validate", "--format", "json", missing).stdout)
    assert report["problems"][0] | {"hint": None} == {
        "file": str(missing),
        "line": None,
        "col": None,
        "severity": "error",
        "code": "file-not-found",
        "message": "no such file or directory",
        "path": None,
        "hint": None,
    }


NODE = (
    "version: 1\nnodes:\n  n1: {address: n1.lan, runtimes: {ollama: {}, vllm: {}, llamacpp: {}}}\n"
)


@pytest.mark.parametrize(
    "served, example",
    [
        pytest.param("runtime: ollama", "llama3:8b (an Ollama model tag)", id="ollama"),
        pytest.param("runtime: vllm", "meta-llama/Llama-3.1-8B-Instruct", id="vllm"),
        pytest.param("runtime: llamacpp", "llama-3.1-8b-instruct-q4_k_m (the GGUF", id="llamacpp"),
        pytest.param("provider: openai", "gpt-4o (the provider's own model name)", id="hosted"),
    ],
)
def test_the_missing_source_hint_fits_what_serves_the_model(
    cli: CliRunner, tmp_path: Path, served: str, example: str
) -> None:
    placement = ", placement: {nodes: [n1]}" if served.startswith("runtime") else ""
    providers = 'providers:\n  openai: {kind: openai, api_key: "${OPENAI_API_KEY}"}\n'
    text = f"{NODE}{providers}models:\n  m: {{{served}{placement}}}\n"
    lines = _validate(cli, tmp_path, text).stderr.splitlines()
    hints = [line for line in lines if line.startswith("  hint: ")]
    assert hints[0].startswith(f"  hint: add it, e.g. source: {example}"), hints


def test_a_field_indented_too_little_gets_an_indentation_hint(
    cli: CliRunner, tmp_path: Path
) -> None:
    text = f"{NODE}models:\n  m: {{runtime: ollama, source: x, placement: {{nodes: [n1]}}}}\n"
    result = _validate(cli, tmp_path, text + "  memory_gb: 5\n")
    assert result.stderr.splitlines()[:2] == [
        f"{tmp_path / 'jarvis.yaml'}:6:14: error[wrong-type]: model 'memory_gb' must be a "
        "mapping, not 5 (at $.models.memory_gb)",
        "  hint: 'memory_gb' is a field of a model, not a model name: is the line indented too "
        "little? Fields go under the model's name, indented further",
    ]


@pytest.mark.parametrize(
    "text, where",
    [
        pytest.param(
            "version: 1\ngateway:\n  port: 99999999999999999999\n", "'gateway.port'", id="gateway"
        ),
        pytest.param(
            "version: 1\nnodes:\n  n1:\n    address: n1.lan\n"
            "    runtimes:\n      ollama: {port: 99999999999999999999}\n",
            "'runtimes.ollama.port' of node 'n1'",
            id="runtime",
        ),
    ],
)
def test_a_huge_port_is_one_error(cli: CliRunner, tmp_path: Path, text: str, where: str) -> None:
    result = _validate(cli, tmp_path, text)
    problems = [line for line in result.stderr.splitlines() if ": error[" in line]
    assert len(problems) == 1, result.stderr
    assert (
        f"error[out-of-range]: {where} must be at most 65535, not 99999999999999999999"
        in (problems[0])
    )


def test_an_untested_litellm_release_is_a_warning(cli: CliRunner, tmp_path: Path) -> None:
    result = _validate(cli, tmp_path, "version: 1\ngateway:\n  litellm_version: 1.110.0\n")
    assert result.exit_code == 0
    assert "warning[untested-litellm]: LiteLLM 1.110.0 is not the release this tool is tested" in (
        result.stderr
    )
    tested = _validate(cli, tmp_path, "version: 1\ngateway:\n  litellm_version: 1.108.7\n")
    assert "untested-litellm" not in tested.stdout + tested.stderr
