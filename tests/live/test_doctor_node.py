"""`doctor --node` with a name the mesh does not have: the error names the nodes it has, and
the closest one when the name looks like a typo (as explain does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.kit import HOMELAB


@pytest.mark.parametrize(
    "node, said",
    [
        pytest.param(
            "mni",
            "node 'mni' is not in the mesh; did you mean 'mini'?; its nodes: ai-max, laptop, mini",
            id="typo",
        ),
        pytest.param(
            "nosuch", "node 'nosuch' is not in the mesh; its nodes: ai-max, laptop, mini", id="far"
        ),
    ],
)
def test_an_unknown_node_is_named_with_the_nodes_there_are(
    cli: Callable[..., Any], node: str, said: str
) -> None:
    result = cli("doctor", HOMELAB, "--node", node)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"error: {said}"
