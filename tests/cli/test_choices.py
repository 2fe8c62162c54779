"""Option choices come from the registries they name, and reading them imports only the
module of the command that needs them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from jarvis_config.cli import main
from jarvis_config.render import TARGETS
from jarvis_config.report import REPORTERS
from jarvis_config.review import diff, explain, graph
from tests.kit import ROOT


@pytest.mark.parametrize(
    "command, option, registry",
    [
        pytest.param("validate", "--format", REPORTERS, id="validate-format"),
        pytest.param("build", "--format", REPORTERS, id="build-format"),
        pytest.param("build", "--target", TARGETS, id="build-target"),
        pytest.param("graph", "--format", graph.FORMATS, id="graph-format"),
        pytest.param("diff", "--format", diff.REPORT_FORMATS, id="diff-format"),
        pytest.param("explain", "--format", explain.FORMATS, id="explain-format"),
    ],
)
def test_choices_are_the_registry_keys(
    command: str, option: str, registry: dict[str, object]
) -> None:
    params = {p.name: p for p in main.commands[command].params}  # type: ignore[attr-defined]
    param = next(p for p in params.values() if option in p.opts)
    assert sorted(param.type.choices) == sorted(registry)


def test_an_unknown_choice_lists_the_registry() -> None:
    result = CliRunner().invoke(main, ["graph", "x.yaml", "--format", "png"])
    assert result.exit_code == 2
    assert "'png' is not one of 'mermaid', 'dot', 'svg'" in result.stderr


def test_the_cli_imports_no_review_module_until_a_review_command_runs() -> None:
    probe = "import sys, jarvis_config.cli; print(sorted(m for m in sys.modules if '.review' in m))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
