"""Helpers shared by the hardening tests: trees on disk, problem lines, the CLI as a process,
and mounts that make an output location fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.kit import PROBLEM, ROOT

HOMELAB = ROOT / "examples" / "homelab" / "jarvis.yaml"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (relative posix path -> bytes), hidden files included."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def problem_lines(text: str) -> list[re.Match[str]]:
    return [m for m in map(PROBLEM.match, text.splitlines()) if m]


def assert_no_traceback(result: Any) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The CLI as a separate process, importing this checkout."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "jarvis_config", *map(str, args)],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def mount_refusal() -> str | None:
    """None when this process may mount a tmpfs, else why not (the skip reason)."""
    if sys.platform != "linux":
        return "tmpfs mounts need Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root (CAP_SYS_ADMIN); run the suite as root to test it"
    return None


def remount_readonly(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True, capture_output=True)


def rename_node(data: dict[str, Any], old: str, new: str) -> None:
    """Rename a node and every reference to it, so only the name itself is wrong."""
    data["nodes"][new] = data["nodes"].pop(old)
    for model in data["models"].values():
        placed = model.get("placement", {}).get("nodes")
        if placed:
            model["placement"]["nodes"] = [new if n == old else n for n in placed]


def rename_model(data: dict[str, Any], old: str, new: str) -> None:
    data["models"][new] = data["models"].pop(old)
    data["aliases"] = {k: (new if v == old else v) for k, v in data.get("aliases", {}).items()}
    routing = data.get("routing", {})
    for key in ("fallbacks", "context_window_fallbacks"):
        chains = routing.get(key, {})
        routing[key] = {
            (new if k == old else k): [new if t == old else t for t in v] for k, v in chains.items()
        }
