"""`validate` and `build` run with Python's cycle collector paused (its full passes over a large
mesh's data made both grow faster than linearly) and turn it back on when they return, even
when they fail."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jarvis_config import pipeline
from tests.kit import EXAMPLES_DIR

HOMELAB = EXAMPLES_DIR / "homelab"


@pytest.fixture
def collector_states(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the collector was on each time a command compiled a config."""
    states: list[bool] = []
    compile_config = pipeline.compile_config

    def recording(*args: Any, **kwargs: Any) -> pipeline.Compiled:
        states.append(gc.isenabled())
        return compile_config(*args, **kwargs)

    monkeypatch.setattr(pipeline, "compile_config", recording)
    return states


@pytest.mark.parametrize("config", [HOMELAB, Path("nowhere.yaml")], ids=["valid", "missing"])
def test_validate_pauses_the_collector_and_turns_it_back_on(
    cli: Callable[..., Any], collector_states: list[bool], config: Path
) -> None:
    assert gc.isenabled()
    cli("validate", config)
    assert collector_states == [False]
    assert gc.isenabled()


def test_build_pauses_the_collector_and_turns_it_back_on(
    cli: Callable[..., Any], collector_states: list[bool], tmp_path: Path
) -> None:
    assert gc.isenabled()
    assert cli("build", HOMELAB, "-o", tmp_path / "out").exit_code == 0
    assert collector_states == [False]
    assert gc.isenabled()
