"""Exit codes, one test each: 0 ok, 1 invalid config, 2 usage, 3 internal error (a bug),
130 interrupted. CI scripts tell "your config is wrong" from "the tool crashed" by them."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jarvis_config import pipeline
from jarvis_config.cli import main
from tests.kit import EXAMPLES_DIR, ROOT

HOMELAB = EXAMPLES_DIR / "homelab"


def test_0_for_a_valid_config(cli: Callable[..., Any]) -> None:
    assert cli("validate", HOMELAB).exit_code == 0


def test_1_for_an_invalid_config(cli: Callable[..., Any], tmp_path: Path) -> None:
    config = tmp_path / "jarvis.yaml"
    config.write_text("version: 2\n", encoding="utf-8")
    result = cli("validate", config)
    assert result.exit_code == 1
    assert "error[" in result.stderr


def test_2_for_a_usage_error(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("build", HOMELAB, "-o", tmp_path / "out", "--check", "--force")
    assert result.exit_code == 2
    assert "cannot be combined with --force" in result.stderr


def _broken_render(*_: object, **__: object) -> dict[str, bytes]:
    raise ZeroDivisionError("division by zero")


def test_3_for_a_bug_says_so_and_how_to_get_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "render", _broken_render)
    result = CliRunner().invoke(main, ["build", str(HOMELAB), "-o", str(tmp_path / "out")])
    assert result.exit_code == 3
    assert result.stderr == (
        "internal error: ZeroDivisionError: division by zero\n"
        "  hint: this is a bug in jarvis-config; rerun with --traceback and report it\n"
    )
    assert not (tmp_path / "out").exists()


def test_3_with_traceback_raises_the_original_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "render", _broken_render)
    args = ["--traceback", "build", str(HOMELAB), "-o", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, ZeroDivisionError)


def _interrupted(*_: object, **__: object) -> dict[str, bytes]:
    raise KeyboardInterrupt


def test_130_when_interrupted_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "render", _interrupted)
    result = CliRunner().invoke(main, ["build", str(HOMELAB), "-o", str(tmp_path / "out")])
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_130_when_a_real_process_gets_sigint(tmp_path: Path) -> None:
    """A real Ctrl-C: SIGINT to `doctor` while it waits on a runtime that accepts connections
    and never answers (a listening socket nobody reads), long before its timeout."""
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(8)
        config = tmp_path / "jarvis.yaml"
        config.write_text(
            "version: 1\nnodes:\n  n1:\n    address: 127.0.0.1\n"
            f"    runtimes: {{ollama: {{port: {frozen.getsockname()[1]}}}}}\n",
            encoding="utf-8",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "jarvis_config", "doctor", str(config), "--timeout", "60"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            time.sleep(3)  # start-up on a contended machine; the probe then waits for an answer
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.decode() == "interrupted\n"
