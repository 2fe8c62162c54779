"""The installed wheel, in a fresh virtual environment: templates and schemas ship inside the
package and load through importlib.resources, not from the source checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.kit import ROOT, mesh_examples

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
    )
    (built,) = dist.glob("jarvis_config-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel and its runtime dependencies."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=True)
    subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True
    )
    return env


def test_wheel_carries_templates_and_schema(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "jarvis_config/schemas/jarvis-config.schema.json" in names
    assert any(n.startswith("jarvis_config/templates/docs/") for n in names)
    assert any(n.startswith("jarvis_config/templates/compose/") for n in names)
    assert "jarvis_config/templates/init/jarvis.yaml.j2" in names
    assert "jarvis_config/standin.py" in names  # `try` serves a mesh over them


def _run(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(env / "bin" / "jarvis-config"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "JARVIS_MASTER_KEY": "x",
            "OPENAI_API_KEY": "y",
            "HOME": str(cwd),
        },
    )


def test_installed_package_loads_resources_from_site_packages(
    installed: Path, tmp_path: Path
) -> None:
    code = (
        "import jarvis_config.resources as r; "
        "print(r.resource_dir('templates')); print(r.resource_dir('schemas'))"
    )
    out = subprocess.run(
        [str(installed / "bin" / "python"), "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all("site-packages" in line for line in out), out


def test_installed_cli_prints_schema_validates_and_builds(installed: Path, tmp_path: Path) -> None:
    schema = _run(installed, "schema", cwd=tmp_path)
    assert schema.returncode == 0
    assert json.loads(schema.stdout)["$schema"].endswith("2020-12/schema")
    for example in mesh_examples():
        result = _run(installed, "validate", str(example), cwd=tmp_path)
        assert result.returncode == 0, (example, result.stdout, result.stderr)
    built = _run(installed, "build", str(ROOT / "examples" / "homelab"), "-o", "out", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out" / "litellm" / "config.yaml").is_file()
    assert (tmp_path / "out" / "compose" / "gateway" / "compose.yaml").is_file()


def test_installed_init_writes_a_config_that_validates(installed: Path, tmp_path: Path) -> None:
    assert _run(installed, "init", "mesh/jarvis.yaml", cwd=tmp_path).returncode == 0
    result = _run(installed, "validate", "mesh/jarvis.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_installed_try_without_the_proxy_says_how_to_get_it(
    installed: Path, tmp_path: Path
) -> None:
    """The wheel alone has no proxy: `try` says in one line how to get it, exit 2."""
    result = _run(installed, "try", str(ROOT / "examples" / "homelab"), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: the LiteLLM proxy is not installed here; "
        "get it with: pip install 'jarvis-config[proxy]'\n"
    )
