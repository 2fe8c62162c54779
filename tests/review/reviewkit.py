"""Inputs of the review-command tests beyond the examples (tests.kit has those)."""

from __future__ import annotations

from pathlib import Path

# A mesh larger than any example: twelve nodes, for layouts that must stay readable.
TWELVE_NODES = Path(__file__).resolve().parent / "twelve-nodes.yaml"
