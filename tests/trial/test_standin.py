"""The fake runtimes the end-to-end tests stand on: they must answer as the real ones do."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from jarvis_config.standin import StandIn


def call(
    runtime: StandIn, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=5)
    try:
        connection.request(
            method,
            path,
            json.dumps(body) if body is not None else None,
            {"Authorization": "Bearer sk-seen"},
        )
        reply = connection.getresponse()
        return reply.status, reply.getheader("Content-Type") or "", reply.read()
    finally:
        connection.close()


def test_ollama_chat_answers_with_the_node_name_and_streams_ndjson() -> None:
    with StandIn("ai-max", flavor="ollama") as runtime:
        status, _, body = call(
            runtime, "POST", "/api/chat", {"model": "llama3:8b", "stream": False, "messages": []}
        )
        assert status == 200
        assert json.loads(body)["message"]["content"] == "hello from ai-max"
        status, kind, body = call(runtime, "POST", "/api/chat", {"model": "llama3:8b"})
        lines = [json.loads(line) for line in body.decode().splitlines()]
        assert (status, kind) == (200, "application/x-ndjson")
        assert "".join(line["message"]["content"] for line in lines) == "hello from ai-max"
        assert [line["done"] for line in lines] == [False, False, False, True]
        assert call(runtime, "GET", "/api/tags")[0] == 200
        assert call(runtime, "POST", "/api/show", {"model": "llama3:8b"})[0] == 200


def test_openai_chat_streams_sse_ending_with_done() -> None:
    with StandIn("rig-1", flavor="openai") as runtime:
        status, kind, body = call(
            runtime, "POST", "/v1/chat/completions", {"model": "m", "stream": True, "messages": []}
        )
        events = [line for line in body.decode().split("\n\n") if line]
        assert (status, kind) == (200, "text/event-stream")
        assert events[-1] == "data: [DONE]"
        chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
        assert (
            "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
            == "hello from rig-1"
        )
        status, _, body = call(runtime, "POST", "/v1/chat/completions", {"model": "m"})
        assert json.loads(body)["choices"][0]["message"]["content"] == "hello from rig-1"
        assert json.loads(call(runtime, "GET", "/v1/models")[2])["object"] == "list"


def test_requests_are_recorded_with_body_and_authorization() -> None:
    with StandIn("mini", flavor="openai") as runtime:
        call(runtime, "POST", "/v1/chat/completions", {"model": "m", "node": "mini"})
        recorded = json.loads(call(runtime, "GET", "/_requests")[2])
        assert recorded == [
            {
                "method": "POST",
                "path": "/v1/chat/completions",
                "body": {"model": "m", "node": "mini"},
                "authorization": "Bearer sk-seen",
            }
        ]
        call(runtime, "DELETE", "/_requests")
        assert runtime.requests() == []


def test_a_long_prompt_gets_the_context_length_error() -> None:
    with StandIn("mini", flavor="openai", context_chars=50) as runtime:
        status, _, body = call(
            runtime,
            "POST",
            "/v1/chat/completions",
            {"model": "m", "messages": [{"content": "x" * 100}]},
        )
        assert status == 400 and "maximum context length" in json.loads(body)["message"]


def test_a_stopped_runtime_refuses_new_and_kept_alive_connections() -> None:
    runtime = StandIn("gone", flavor="openai").start()
    connection = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=5)
    connection.request("GET", "/v1/models")
    assert connection.getresponse().read()
    runtime.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        connection.request("GET", "/v1/models")
        connection.getresponse().read()
    connection.close()
    # Refused, as a rule; in the full suite the freed port has also been seen to reset the
    # new connection instead (something else on loopback reusing the ephemeral port at once).
    # Either way the stopped runtime does not answer.
    with pytest.raises((ConnectionRefusedError, ConnectionResetError)):
        call(runtime, "GET", "/v1/models")


# --- faults --------------------------------------------------------------------------------------

CHAT = {"model": "m", "messages": [], "stream": False}


def test_a_frozen_runtime_accepts_and_never_answers_until_thawed() -> None:
    import socket
    import threading
    import time

    with StandIn("mini", flavor="openai") as runtime:
        runtime.fault = "freeze"
        connection = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=1)
        try:
            connection.request("POST", "/v1/chat/completions", json.dumps(CHAT))
            with pytest.raises(socket.timeout):
                connection.getresponse()  # the connection was accepted; no answer comes
        finally:
            connection.close()
        threading.Timer(0.5, lambda: setattr(runtime, "fault", None)).start()
        start = time.monotonic()
        status = call(runtime, "POST", "/v1/chat/completions", CHAT)[0]
        assert status == 200 and 0.3 < time.monotonic() - start < 4  # held, then answered


@pytest.mark.parametrize(
    "flavor, path", [("ollama", "/api/chat"), ("openai", "/v1/chat/completions")]
)
def test_error_and_malformed_faults(flavor: str, path: str) -> None:
    with StandIn("mini", flavor=flavor) as runtime:
        runtime.fault = "error"
        status, _, body = call(runtime, "POST", path, CHAT)
        assert (status, json.loads(body)) == (500, {"error": "runtime on mini failed"})
        runtime.fault = "malformed"
        status, _, body = call(runtime, "POST", path, CHAT)
        assert status == 200
        with pytest.raises(ValueError):
            json.loads(body)
        runtime.fault = None
        assert call(runtime, "POST", path, CHAT)[0] == 200


def test_a_cut_stream_stops_after_its_first_chunk_without_an_end() -> None:
    with StandIn("mini", flavor="openai") as runtime:
        runtime.fault = "cut"
        with pytest.raises(http.client.IncompleteRead) as cut:
            call(runtime, "POST", "/v1/chat/completions", {**CHAT, "stream": True})
        assert b"hello" in cut.value.partial and b"[DONE]" not in cut.value.partial
        with pytest.raises(http.client.IncompleteRead):
            call(runtime, "POST", "/v1/chat/completions", CHAT)


def test_a_slow_runtime_delays_each_chunk() -> None:
    import time

    with StandIn("mini", flavor="ollama") as runtime:
        runtime.token_delay = 0.2
        start = time.monotonic()
        status, _, body = call(runtime, "POST", "/api/chat", {"model": "m", "messages": []})
        assert status == 200 and len(body.decode().splitlines()) == 4
        assert time.monotonic() - start >= 0.6  # three gaps between four chunks


def test_an_unknown_fault_is_refused() -> None:
    with StandIn("mini") as runtime, pytest.raises(ValueError, match="unknown fault 'hang'"):
        runtime.fault = "hang"
