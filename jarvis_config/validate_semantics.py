"""Stage 2b, semantics: rules the schema cannot express (being written)."""

from __future__ import annotations

from collections.abc import Mapping

from jarvis_config.load import Document
from jarvis_config.problems import Problem


def check_semantics(doc: Document, *, environ: Mapping[str, str]) -> list[Problem]:
    return []
