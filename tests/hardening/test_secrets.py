"""No secret leaks: every example is built with a known sentinel value in each environment
variable it references (and in the usual provider variables it does not), and no rendered
file may contain any of them. `.env.example` holds names only."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from hardkit import run_cli, tree

from tests.kit import mesh_examples

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Set as well, though no example references them: a renderer must not read the environment.
AMBIENT = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "LITELLM_MASTER_KEY",
    "JARVIS_MASTER_KEY",
    "AZURE_API_KEY",
    "GROQ_API_KEY",
    "DATABASE_URL",
    "REDIS_PASSWORD",
    "HF_TOKEN",
)
EXAMPLES = [pytest.param(p, id=p.name) for p in mesh_examples()]


def referenced(example: Path) -> set[str]:
    """The ${VAR} references in an example's text, found without the tool's help."""
    files = [example] if example.is_file() else sorted(example.rglob("*.y*ml"))
    return {var for f in files for var in ENV_REF.findall(f.read_text("utf-8"))}


def sentinels(names: set[str]) -> dict[str, str]:
    return {name: f"sentinel-{name.lower()}-{secrets.token_hex(8)}" for name in sorted(names)}


@pytest.mark.parametrize("example", EXAMPLES)
def test_no_rendered_file_contains_a_secret_value(example: Path, tmp_path: Path) -> None:
    names = referenced(example)
    env = sentinels(names | set(AMBIENT))
    out = tmp_path / "out"
    result = run_cli("build", example, "-o", out, "--strict", env=env)
    assert result.returncode == 0, result.stderr
    files = tree(out)
    assert files, "the build wrote nothing"
    for relative, content in files.items():
        for name, value in env.items():
            assert value.encode() not in content, f"{relative} leaks the value of ${name}"
    output = result.stdout + result.stderr
    assert not [n for n, v in env.items() if v in output], "the CLI printed a secret value"


@pytest.mark.parametrize("example", EXAMPLES)
def test_env_example_holds_names_only_and_every_reference(example: Path, tmp_path: Path) -> None:
    env = sentinels(referenced(example))
    out = tmp_path / "out"
    assert run_cli("build", example, "-o", out, env=env).returncode == 0
    lines = (out / ".env.example").read_text("utf-8").splitlines()
    assignments = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    for line in assignments:
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=\s*(#.*)?", line), f"a value: {line!r}"
    listed = {line.split("=", 1)[0] for line in assignments}
    assert referenced(example) <= listed, f"missing: {sorted(referenced(example) - listed)}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_secrets_reach_the_outputs_as_references(example: Path, tmp_path: Path) -> None:
    """The other half of the proof: the references are there, as os.environ/ and ${}."""
    out = tmp_path / "out"
    assert run_cli("build", example, "-o", out, env=sentinels(referenced(example))).returncode == 0
    files = tree(out)
    gateway = files["litellm/config.yaml"].decode("utf-8")
    for name in referenced(example):
        in_gateway = f"os.environ/{name}" in gateway
        in_compose = any(
            f"${{{name}}}".encode() in c or f"${{{name}:".encode() in c
            for r, c in files.items()
            if r.startswith("compose/")
        )
        assert in_gateway or in_compose, f"${name} is referenced nowhere in the outputs"
