"""The proxy's process handling: found beside Python or on PATH, and nothing of it left behind
when it fails to start (its whole process group is stopped)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from jarvis_config.trial.proxy import ProxyError, find_litellm, start_proxy
from tests.trial.trykit import group_alive


def _executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_litellm_is_found_beside_python_first(tmp_path: Path) -> None:
    beside = _executable(tmp_path / "venv" / "bin" / "litellm")
    on_path = _executable(tmp_path / "elsewhere" / "litellm")
    python = str(tmp_path / "venv" / "bin" / "python")
    assert find_litellm(python, search_path=str(on_path.parent)) == str(beside)


def test_litellm_is_found_on_path_or_not_at_all(tmp_path: Path) -> None:
    python = str(tmp_path / "venv" / "bin" / "python")
    on_path = _executable(tmp_path / "elsewhere" / "litellm")
    assert find_litellm(python, search_path=str(on_path.parent)) == str(on_path)
    assert find_litellm(python, search_path=str(tmp_path / "empty")) is None


def test_a_proxy_that_fails_to_start_leaves_no_process(tmp_path: Path) -> None:
    """A stand-in for a crashing proxy: it forks a worker into its group, then exits 1."""
    pids = tmp_path / "pids"
    script = _executable(
        tmp_path / "crashing-proxy",
        f"#!/bin/sh\nsleep 300 &\necho $$ $! > {pids}\necho 'no such config' >&2\nexit 1\n",
    )
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    started = time.monotonic()
    with pytest.raises(ProxyError, match=r"exited with 1 while starting(.|\n)*no such config"):
        start_proxy([str(script)], config, {}, 9, log=tmp_path / "proxy.log", timeout=30)
    assert time.monotonic() - started < 10
    leader, _ = map(int, pids.read_text().split())
    assert not group_alive(leader)  # its worker too
