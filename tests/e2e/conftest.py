"""Fixtures of the end-to-end modules: each serves the example its module names in EXAMPLE
(a folder under examples/), with one proxy for the whole module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.harness import Gateway
from tests.kit import EXAMPLES_DIR

if TYPE_CHECKING:  # the openai SDK is imported by the fixture that uses it, not at collection
    import openai


@pytest.fixture(scope="module")
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    name = request.module.EXAMPLE
    with Gateway.start(EXAMPLES_DIR / name, tmp_path_factory.mktemp(name)) as gw:
        yield gw


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return gateway.client()
