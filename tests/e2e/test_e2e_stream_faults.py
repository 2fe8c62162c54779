"""Stream and body faults on the home lab mesh (node_pinning: strict), on the stock proxy.

A node that sends its headers and then stalls, a stream that never ends, a body that drips a
byte at a time, a stream LiteLLM cannot parse, an answer of the wrong shape, and every node
of a model down with its declared fallback failing too. Each is asserted where it bites: the
client (the official openai SDK, no retries) gets an answer from another node or an error
naming the node in plain words, within the bound the defaults promise. `stream_max_seconds`
is lowered to STREAM_MAX so the never-ending stream is cut within the test's time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jarvis_config.model.mesh import RESILIENCE_DEFAULTS
from tests.e2e.harness import Gateway, chat
from tests.e2e.test_e2e_faults import (
    NORMAL,
    PIN_FAILS_WITHIN,
    STRICT,
    assert_plain,
    fault,
    in_background,
    stream_text,
    timed,
)
from tests.kit import EXAMPLES_DIR

openai = pytest.importorskip(
    "openai", reason="the end-to-end tests drive the gateway with the openai SDK (the test extra)"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STREAM_MAX = 25.0  # above the stream timeout (20 s), so each cut is told apart
STREAM_TIMEOUT = float(RESILIENCE_DEFAULTS["stream_timeout"])
MALFORMED = "it sent an answer the gateway could not read (malformed response)"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    example = tmp_path_factory.mktemp("example") / "homelab"
    example.mkdir()
    data = yaml.safe_load((EXAMPLES_DIR / "homelab" / "jarvis.yaml").read_text(encoding="utf-8"))
    data["routing"]["stream_max_seconds"] = STREAM_MAX
    (example / "jarvis.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with Gateway.start(example, Path(tmp_path_factory.mktemp("homelab"))) as gw:
        yield gw


def message_of(result: object) -> str:
    """The plain message of what the SDK raised: a status error's body, or a stream's event."""
    if isinstance(result, openai.APIStatusError) and isinstance(result.body, dict):
        return str(result.body.get("message", ""))
    assert isinstance(result, openai.APIError), result
    return result.message


def assert_node_failed(result: object, gateway: Gateway, *causes: str) -> None:
    """A 5xx (or a stream's error event) naming mini in plain words, with one of `causes`."""
    if isinstance(result, openai.APIStatusError):
        assert result.status_code >= 500, (result.status_code, result.body)
    message = message_of(result)
    assert message.startswith(STRICT), message
    assert any(message.endswith(cause) for cause in causes), message
    assert_plain(message, gateway)


def test_a_stream_that_stalls_after_its_headers_fails_within_60_s(gateway: Gateway) -> None:
    client = gateway.client()
    with fault(gateway, "mini", "stall"):
        pinned = in_background(lambda: stream_text(client, "llama3", "mini"))
        unpinned = [in_background(lambda: stream_text(client, "llama3")) for _ in range(4)]
        waited, result = pinned()
        assert waited < PIN_FAILS_WITHIN
        assert_node_failed(
            result,
            gateway,
            "it could not be reached (connection refused or lost)",
            "it did not answer in time (timed out)",
            "it failed its last health check; try again later",
            f"it sent no complete chunk for {STREAM_TIMEOUT:g} s (stream_timeout): it "
            "stalled or sends too slowly",
        )
        for waited, answer in (each() for each in unpinned):
            assert waited < PIN_FAILS_WITHIN
            assert answer == "hello from ai-max"


def test_a_stream_that_never_ends_is_cut_naming_the_node(gateway: Gateway) -> None:
    client = gateway.client()
    with fault(gateway, "mini", "endless"):
        # a request's max_tokens bounds the chunks: cut long before the time budget
        waited, result = timed(lambda: stream_text(client, "llama3", "mini", max_tokens=5))
        assert waited < NORMAL
        assert_node_failed(
            result,
            gateway,
            "it sent more than the 13 chunks the request's token budget allows, so the "
            "gateway ended the answer",
        )
        waited, result = timed(lambda: stream_text(client, "llama3", "mini"))
        assert STREAM_MAX <= waited < STREAM_MAX + NORMAL
        assert_node_failed(
            result,
            gateway,
            f"it was still sending after {STREAM_MAX:g} s (stream_max_seconds), so the "
            "gateway ended the answer",
        )


def test_a_dripping_stream_is_cut_after_the_stream_timeout(gateway: Gateway) -> None:
    client = gateway.client()
    with fault(gateway, "mini", "drip"):
        waited, result = timed(lambda: stream_text(client, "llama3", "mini"))
        assert waited < PIN_FAILS_WITHIN
        assert_node_failed(
            result,
            gateway,
            f"it sent no complete chunk for {STREAM_TIMEOUT:g} s (stream_timeout): it "
            "stalled or sends too slowly",
            "it failed its last health check; try again later",
        )


ANSWER_TIMEOUT = float(RESILIENCE_DEFAULTS["timeout"])


def test_an_answer_dripping_from_its_first_byte_is_cut_within_60_s(gateway: Gateway) -> None:
    """aiohttp's timeouts are per read: without the callback's watch a node sending a byte
    every half second held the client as long as the client waited."""
    client = gateway.client()
    with fault(gateway, "mini", "crawl"):
        streamed = in_background(lambda: stream_text(client, "llama3", "mini"))
        whole = in_background(lambda: chat(client, "llama3", "mini"))
        for result, bound, cause in (
            (streamed, STREAM_TIMEOUT, "its first chunk"),
            (whole, ANSWER_TIMEOUT, "its answer"),
        ):
            waited, outcome = result()
            assert waited < PIN_FAILS_WITHIN
            assert_node_failed(
                outcome,
                gateway,
                f"it did not finish sending {cause} within {bound:g} s "
                f"({'stream_timeout' if cause == 'its first chunk' else 'timeout'}): it "
                "stalled or sends too slowly",
                "it failed its last health check; try again later",
            )


@pytest.mark.parametrize("kind", ["malformed", "wrong-shape"])
def test_an_unreadable_stream_is_a_503_naming_the_node_and_fails_over(
    gateway: Gateway, kind: str
) -> None:
    """Never an empty 200 and never LiteLLM's 400: the node's failure, failed over when
    unpinned (health checks may pass: only streams are broken here)."""
    client = gateway.client()
    with fault(gateway, "mini", kind):
        waited, result = timed(lambda: stream_text(client, "llama3", "mini"))
        assert waited < NORMAL
        assert isinstance(result, openai.APIStatusError), result
        assert result.status_code == 503
        assert_node_failed(
            result,
            gateway,
            MALFORMED,
            "it failed recently and is left alone for up to 30 s (cooldown); try again later",
            "it failed its last health check; try again later",
        )
        answers = [timed(lambda: stream_text(client, "llama3")) for _ in range(8)]
        assert all(seconds < NORMAL for seconds, _ in answers), answers
        assert {answer for _, answer in answers} == {"hello from ai-max"}


def test_every_node_down_says_the_fallback_failed_and_why(gateway: Gateway) -> None:
    client = gateway.client()
    for runtime in gateway.fakes.by_name["openai"]:
        runtime.fault = "error"
    try:
        with gateway.fakes.down("ai-max", "mini"):
            time.sleep(1)
            waited, result = timed(lambda: chat(client, "llama3"))
    finally:
        for runtime in gateway.fakes.by_name["openai"]:
            runtime.fault = None
    assert waited < PIN_FAILS_WITHIN
    assert isinstance(result, openai.APIStatusError), result
    message = message_of(result)
    assert "its fallback 'gpt-4o' failed too: the provider answered with an error (HTTP 500)" in (
        message
    ), message
    assert_plain(message, gateway)
