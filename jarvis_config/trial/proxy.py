"""The stock LiteLLM proxy as a child process: found, started on a built config, stopped.

The proxy runs in its own process group (a new session), so a Ctrl-C at the terminal reaches
this program alone, and stopping it signals the whole group: the proxy and any worker it
forked, even when the proxy itself has already exited.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jarvis_config.errors import CommandError
from jarvis_config.trial.loopback import LOOPBACK

START_TIMEOUT = 120.0
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


class ProxyError(CommandError):
    """The proxy exited or did not come up; the message ends with its log's last lines."""


def find_litellm(python: str | None = None, search_path: str | None = None) -> str | None:
    """The `litellm` executable: beside the Python running this program (the same virtual
    environment), else on PATH; None when neither has it."""
    beside = Path(python or sys.executable).with_name("litellm")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("litellm", path=search_path)


@dataclass
class Proxy:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM to the proxy's process group, SIGKILL after `grace` seconds."""
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        _signal_group(self.process.pid, signal.SIGKILL)  # workers that outlived their parent
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def proxy_command(executable: str, config: Path, port: int, *, host: str = LOOPBACK) -> list[str]:
    return [executable, "--config", str(config), "--host", host, "--port", str(port)]


def start_proxy(
    command: Sequence[str],
    config: Path,
    env: Mapping[str, str],
    port: int,
    *,
    log: Path,
    waiting: Callable[[float], None] | None = None,
    timeout: float = START_TIMEOUT,
) -> Proxy:
    """Start `command` (the proxy on `config`, on loopback `port`) and return once
    /health/liveliness answers; `waiting(seconds so far)` is called about every second
    meanwhile. On any failure, or an interrupt, the proxy's group is stopped first."""
    proxy_env = {
        **os.environ,
        **env,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no network fetch of the cost map at start-up
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    # Signals wait until the proxy is started and known, so that an interrupt never leaves
    # a proxy behind that nobody holds.
    with signals_held(), open(log, "wb") as handle:
        process = subprocess.Popen(
            list(command),
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=proxy_env,
            cwd=config.parent,
            start_new_session=True,
            # A child inherits the signal mask: the proxy must see SIGTERM to drain and exit.
            preexec_fn=_signals_unblocked,
        )
        proxy = Proxy(process, port, log)
    try:
        _wait_alive(proxy, waiting, timeout)
    except BaseException:
        with signals_held():  # a second Ctrl-C waits until the proxy is stopped
            proxy.stop()
        raise
    return proxy


def _signals_unblocked() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM are held back inside, and delivered on leaving."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _wait_alive(proxy: Proxy, waiting: Callable[[float], None] | None, timeout: float) -> None:
    started = time.monotonic()
    told = 0
    while (elapsed := time.monotonic() - started) < timeout:
        if proxy.process.poll() is not None:
            raise ProxyError(
                f"the LiteLLM proxy exited with {proxy.process.returncode} while starting;"
                f" its last lines:\n{proxy.log_tail()}"
            )
        if _alive(proxy.url):
            return
        if waiting is not None and int(elapsed) > told:
            told = int(elapsed)
            waiting(elapsed)
        time.sleep(0.25)
    raise ProxyError(
        f"the LiteLLM proxy did not come up in {timeout:.0f} s; its last lines:\n{proxy.log_tail()}"
    )


def _alive(url: str) -> bool:
    with (
        contextlib.suppress(urllib.error.URLError, OSError),
        urllib.request.urlopen(f"{url}/health/liveliness", timeout=2) as reply,
    ):
        return bool(reply.status == 200)
    return False
