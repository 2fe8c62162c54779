"""An unknown pin is refused naming where the client sent it: the field `node`, the header
`X-Jarvis-Node`, or a pinned model name."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from jarvis_config.render import litellm as target
from tests.callback.test_jarvis_router import HOMELAB_NODES, load_callback, refusal, request
from tests.kit import compile_mesh


@pytest.fixture(scope="module")
def homelab(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return load_callback(tmp_path_factory.mktemp("homelab"), target.render(compile_mesh("homelab")))


@pytest.mark.parametrize(
    ("data", "source"),
    [
        pytest.param(request("llama3", node="ai-mx"), "field 'node'", id="field"),
        pytest.param(
            request("llama3", proxy_server_request={"headers": {"X-Jarvis-Node": "ai-mx"}}),
            "header 'x-jarvis-node'",
            id="header",
        ),
        pytest.param(request("llama3@ai-mx"), "model name 'llama3@ai-mx'", id="model-name"),
    ],
)
def test_an_unknown_node_is_named_where_it_was_sent(
    homelab: ModuleType, data: dict[str, Any], source: str
) -> None:
    assert refusal(homelab, data) == (
        400,
        f"unknown node 'ai-mx' in {source} (did you mean 'ai-max'?); {HOMELAB_NODES}",
    )
