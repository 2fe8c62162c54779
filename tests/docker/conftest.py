"""Fixtures for the real-engine tests: the Docker engine and the locally built images."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

ENGINE_HINT = "the real-engine tests need dockerd running (.ci/docker-setup.sh installs and starts it)"


@pytest.fixture(scope="session")
def engine() -> Any:
    """A docker SDK client for a running engine; skips, saying why, when there is none."""
    docker = pytest.importorskip("docker", reason="the docker SDK is not installed")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # any failure to reach the engine means: no engine here
        pytest.skip(f"no Docker engine reachable ({type(exc).__name__}: {exc}); {ENGINE_HINT}")
    if shutil.which("docker-compose") is None:
        pytest.skip("Debian's docker-compose is not installed; " + ENGINE_HINT)
    return client


@pytest.fixture(scope="session")
def local_images(engine: Any) -> dict[str, float]:
    """The gateway, Redis, nginx and base images, built here (cached by tag and inputs)."""
    from tests.docker.images import ensure_images

    return ensure_images(engine, log=lambda _: None)
