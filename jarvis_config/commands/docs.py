"""`jarvis-config docs`: write the mesh's user-facing pages."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jarvis_config.commands.common import check_up_to_date, compile_or_fail
from jarvis_config.outcome import echo
from jarvis_config.review.sitedocs import render_docs
from jarvis_config.write import write_tree


@dataclass(frozen=True)
class DocsOptions:
    path: Path
    out: Path
    gateway_url: str | None = None
    check: bool = False
    force: bool = False


def docs(options: DocsOptions) -> int:
    """Write (or, with check, compare) the generated pages."""
    pages = render_docs(compile_or_fail(options.path).mesh, gateway_url=options.gateway_url)
    if options.check:
        return _check(options, pages)
    write_tree(options.out, pages, force=options.force, inputs=(options.path,))
    echo(f"wrote {len(pages)} pages to {options.out}")
    return 0


def _check(options: DocsOptions, pages: Mapping[str, bytes]) -> int:
    words = ["jarvis-config", "docs", str(options.path), "-o", str(options.out)]
    if options.gateway_url is not None:
        words += ["--gateway-url", options.gateway_url]
    return check_up_to_date(options.out, pages, "pages", shlex.join(words))
