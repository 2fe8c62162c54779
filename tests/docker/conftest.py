"""Fixtures for the real-engine tests: the Docker engine and the locally built images."""

from __future__ import annotations

import gc
import shutil
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

ENGINE_HINT = (
    "the real-engine tests need dockerd running (.ci/docker-setup.sh installs and starts it)"
)


def connect() -> tuple[Any, str]:
    """(client, "") for a running engine, or (None, why not)."""
    import docker

    # A failed connection leaves the SDK's socket to the garbage collector; collect it here,
    # where its ResourceWarning is expected, not in some later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env()
            client.ping()
            return client, ""
        except Exception as exc:  # any failure to reach the engine means: no engine here
            reason = f"no Docker engine reachable ({type(exc).__name__}: {exc})"
        finally:
            gc.collect()
    return None, reason


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """A docker SDK client for a running engine; skips, saying why, when there is none."""
    pytest.importorskip("docker", reason="the docker SDK is not installed (test extra)")
    client, reason = connect()
    if client is None:
        pytest.skip(f"{reason}; {ENGINE_HINT}")
    if shutil.which("docker-compose") is None:
        client.close()
        pytest.skip("Debian's docker-compose is not installed; " + ENGINE_HINT)
    yield client
    client.close()


@pytest.fixture(scope="session")
def local_images(engine: Any) -> dict[str, float]:
    """The gateway, Redis, nginx and base images, built here (cached by tag and inputs)."""
    from tests.docker.images import ensure_images

    return ensure_images(engine, log=lambda _: None)
