"""Did-you-mean hints for names, shared by every stage."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    options = sorted(set(candidates))
    found = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' or '' — appended to a message."""
    match = closest(name, candidates)
    return f"; did you mean {match!r}?" if match else ""
