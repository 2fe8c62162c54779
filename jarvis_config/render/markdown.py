"""Escaping for generated Markdown (the `docs` pages and `diff --format markdown` comments).

Each helper takes any text and returns Markdown that shows exactly that text: names and
descriptions from a config can never open a link, a table cell, a heading or a code block.
"""

from __future__ import annotations

import re
from typing import Any

# Inline punctuation that Markdown may act on anywhere, and what starts a block at line start.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_BLOCK_START = re.compile(r"^([-+=#]|\d+(?=[.)]))")
# What GitHub's autolinking turns into a link in plain text: a URL (`https://...`, any
# `scheme://`, `mailto:`, `xmpp:`), `www.` and an e-mail address. Backslash escapes do not
# stop it everywhere (it links e-mail addresses after parsing), a code span does: such a
# word is shown as code. Pipes and backticks stay outside, escaped as in any prose.
_LINKABLE = re.compile(r"[^\s|`]*(?:://|@|www\.|mailto:|xmpp:)[^\s|`]*", re.IGNORECASE)


def md(value: Any) -> str:
    """Prose: one line, Markdown punctuation escaped so it shows literally, and nothing a
    reader could click: URLs, `www.` names and e-mail addresses are shown as code."""
    text = " ".join(str(value).split())
    pieces, start = [], 0
    for link in _LINKABLE.finditer(text):
        pieces += [_MD_SPECIAL.sub(r"\\\1", text[start : link.start()]), code(link.group())]
        start = link.end()
    pieces.append(_MD_SPECIAL.sub(r"\\\1", text[start:]))
    text = "".join(pieces)
    # "- x" would start a list, "1. x" a numbered one: escape the marker's punctuation.
    match = _BLOCK_START.match(text)
    if match is None:
        return text
    end = match.end()
    if match.group(1)[0].isdigit():
        return f"{text[:end]}\\{text[end:]}"
    return f"\\{text}"


def code(value: Any) -> str:
    """An inline code span that holds any text (fence longer than its backtick runs)."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(value: str) -> str:
    """A code span inside a GFM table cell: a pipe ends the cell even inside a code span, so
    every pipe gets a backslash (the table removes it again). Prose from `md` needs no `cell`:
    its pipes are escaped already."""
    return value.replace("|", "\\|")


def fence(body: str, language: str = "") -> str:
    """A fenced code block longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=2)
    marks = "`" * (longest + 1)
    return f"{marks}{language}\n{body.strip(chr(10))}\n{marks}"
