"""Stage 2a, schema: check the document against the JSON Schema (being written)."""

from __future__ import annotations

from jarvis_config.load import Document
from jarvis_config.problems import Problem


def check_schema(doc: Document) -> list[Problem]:
    return []
