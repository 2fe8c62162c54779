"""Fixtures for the review commands (explain, diff, graph, docs): a golden-file check that
--update-golden rewrites."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from reviewkit import ROOT


@pytest.fixture
def golden(update_golden: bool) -> Callable[[Path, str], None]:
    """golden(path, text): compare with the stored file, or rewrite it under --update-golden."""

    def check(path: Path, actual: str) -> None:
        if update_golden:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing; run pytest --update-golden"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{path.relative_to(ROOT)} differs; review, then --update-golden"

    return check
