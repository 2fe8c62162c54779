"""Did-you-mean hints for names: at the bottom of the pipeline, shared by every stage."""

from __future__ import annotations

from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    import difflib  # only a mistake needs it; a valid mesh never pays for the import

    options = sorted(set(candidates))
    found = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' or '' — appended to a message."""
    match = closest(name, candidates)
    return f"; did you mean {match!r}?" if match else ""
