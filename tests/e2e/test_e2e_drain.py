"""The gateway drains on SIGTERM: the stock proxy as a process, a stream in flight.

SIGTERM is what `docker stop`, a Swarm update and a Kubernetes rollout send. The proxy (uvicorn)
then closes its listener at once, lets the requests in flight finish (for up to
GRACEFUL_SHUTDOWN_TIMEOUT seconds, which every target sets from the stream budget), and exits.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.harness import Gateway
from tests.e2e.test_e2e_faults import in_background, stream_text
from tests.kit import EXAMPLES_DIR

openai = pytest.importorskip(
    "openai", reason="the end-to-end tests drive the gateway with the openai SDK (the test extra)"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TOKEN_DELAY = 2.5  # a stream of 4 chunks: about 7.5 s, well under the drain budget


def test_a_stream_in_flight_finishes_after_sigterm_and_then_the_proxy_exits(
    tmp_path: Path,
) -> None:
    with Gateway.start(EXAMPLES_DIR / "homelab", tmp_path) as gw:
        for runtime in gw.fakes.by_name["mini"]:
            runtime.token_delay = TOKEN_DELAY
        client = gw.client()
        streamed = in_background(lambda: stream_text(client, "llama3", "mini"))
        time.sleep(TOKEN_DELAY / 2)  # the stream has started
        signalled = time.monotonic()
        os.kill(gw.proxy.process.pid, signal.SIGTERM)
        time.sleep(1)
        # the listener is closed at once: a new request is refused, not queued
        with pytest.raises(openai.APIConnectionError):
            gw.client().models.list()
        _, answer = streamed()
        assert answer == "hello from mini"  # finished whole, after the signal
        gw.proxy.process.wait(timeout=30)
        exited = time.monotonic() - signalled
        assert exited >= TOKEN_DELAY * 2  # it waited for the stream
        assert gw.proxy.process.returncode is not None
