"""docs/clients.md shows the TypeScript snippet that the end-to-end tests type-check and run."""

from __future__ import annotations

from tests.kit import ROOT


def test_the_typescript_snippet_in_the_docs_is_the_tested_file() -> None:
    doc = (ROOT / "docs" / "clients.md").read_text(encoding="utf-8")
    tested = (ROOT / "tests" / "clients" / "chat.ts").read_text(encoding="utf-8")
    assert f"```ts\n{tested}```\n" in doc


def test_ci_installs_the_snippets_node_packages_from_the_lock_file() -> None:
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "npm ci --prefix tests/clients" in run
    assert (ROOT / "tests" / "clients" / "package-lock.json").is_file()
