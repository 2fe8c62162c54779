"""The mesh docs list each client key by name with its models and limits, never its value."""

from __future__ import annotations

from jarvis_config.review.sitedocs import render_docs
from tests.kit import compile_mesh


def test_keys_are_listed_by_name_with_models_and_limits() -> None:
    mesh = compile_mesh("clients")
    readme = render_docs(mesh)["README.md"].decode()
    assert "| `n8n` | `chat`, `fast` | 600 requests/minute |" in readme
    assert "| `agents` | every model | 16 requests at once |" in readme
    for key in mesh.gateway.keys:
        assert key.key.var not in readme and key.key.compose not in readme


def test_pages_without_keys_have_no_key_table() -> None:
    assert (
        "| Key | Models | Limits |"
        not in render_docs(compile_mesh("homelab"))["README.md"].decode()
    )
