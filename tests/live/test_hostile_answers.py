"""Runtimes and gateways that answer as an attacker would: numbers no JSON reader should
take, nesting that exhausts recursion, fields of the wrong type, a status line that is not
HTTP. `doctor` and `discover` report each as a problem or a one-line error, exit 0 or 1, and
never print a traceback or a line a CI runner reads as a command."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jarvis_config.live.http import ProbeFailure, decode_json
from jarvis_config.live.probes import in_parallel
from tests.conftest import CliResult
from tests.live.hostile_server import Hostile, http_answer, serving

Cli = Callable[..., CliResult]
DEEP = "[" * 200_000 + "]" * 200_000
NOT_HTTP = b"SSH-2.0-OpenSSH_9.2\r\n::error file=README.md,line=1::forged\r\n"

OLLAMA = [
    pytest.param('{"models": [{"name": "llama3:8b", "size": Infinity}]}', id="infinity"),
    pytest.param('{"models": [{"name": "llama3:8b", "size": NaN}]}', id="nan"),
    pytest.param('{"models": [{"name": "llama3:8b", "size": 1e400}]}', id="float-overflow"),
    pytest.param('{"models": [{"name": "llama3:8b", "size": 1' + "0" * 400 + "}]}", id="10**400"),
    pytest.param(
        '{"models": [{"name": "llama3:8b", "size": 1' + "0" * 5000 + "}]}", id="5000-digits"
    ),
    pytest.param('{"models": [{"name": "llama3:8b", "size": "big", "details": 7}]}', id="types"),
    pytest.param('{"models": {"name": "llama3:8b"}}', id="models-a-mapping"),
    pytest.param('{"models": [1, null, "x", [2]]}', id="entries-not-mappings"),
    pytest.param(DEEP, id="nested-200000"),
    pytest.param('{"models": [' + DEEP + "]}", id="nested-inside"),
]
OPENAI = [
    pytest.param('{"data": [{"id": "org/coder", "meta": "s"}]}', id="meta-a-string"),
    pytest.param('{"data": [{"id": "org/coder", "max_model_len": Infinity}]}', id="infinity"),
    pytest.param('{"data": [{"id": "org/coder", "max_model_len": 1e400}]}', id="float-overflow"),
    pytest.param('{"data": [{"id": "org/coder", "max_model_len": -1e308}]}', id="negative"),
    pytest.param('{"data": [{"id": {"x": 1}, "meta": {"n_ctx_train": []}}]}', id="types"),
    pytest.param('{"data": "x"}', id="data-a-string"),
]


def mesh(tmp_path: Path, ollama: int, vllm: int) -> Path:
    path = tmp_path / "jarvis.yaml"
    path.write_text(
        "version: 1\ngateway:\n  master_key: ${JARVIS_MASTER_KEY}\nnodes:\n"
        f"  n1: {{address: 127.0.0.1, runtimes: {{ollama: {{port: {ollama}}}, "
        f"vllm: {{port: {vllm}}}}}}}\n"
        "models:\n  llama3: {runtime: ollama, source: 'llama3:8b', placement: {nodes: [n1]}}\n"
        "  coder: {runtime: vllm, source: org/coder, placement: {nodes: [n1]}}\n",
        encoding="utf-8",
    )
    return path


def assert_plain(result: CliResult) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    assert result.exit_code in (0, 1), output[-3000:]
    for line in output.split("\n"):
        assert not line.strip().startswith("::") and "\r" not in line, line


def answering(body: str | bytes, path: str) -> Hostile:
    raw = body if isinstance(body, bytes) else http_answer(body)
    return Hostile({path: raw})


@pytest.mark.parametrize("body", OLLAMA)
def test_doctor_reads_hostile_ollama_answers_plainly(cli: Cli, tmp_path: Path, body: str) -> None:
    with serving(answering(body, "/api/tags")) as ollama, serving(Hostile({})) as vllm:
        result = cli("doctor", mesh(tmp_path, ollama.port, vllm.port), "--timeout", "10")
    assert_plain(result)
    assert result.exit_code == 1


@pytest.mark.parametrize("body", OPENAI)
def test_doctor_reads_hostile_openai_answers_plainly(cli: Cli, tmp_path: Path, body: str) -> None:
    with serving(Hostile({})) as ollama, serving(answering(body, "/v1/models")) as vllm:
        result = cli("doctor", mesh(tmp_path, ollama.port, vllm.port), "--timeout", "10")
    assert_plain(result)


def test_a_status_line_that_is_not_http_is_named_not_echoed(cli: Cli, tmp_path: Path) -> None:
    with serving(Hostile({}, default=NOT_HTTP)) as ollama, serving(Hostile({})) as vllm:
        result = cli("doctor", mesh(tmp_path, ollama.port, vllm.port), "--timeout", "10")
    assert_plain(result)
    assert "the answer is not HTTP" in result.stderr
    assert "SSH-2.0" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "models",
    [
        pytest.param("[1]", id="a-list"),
        pytest.param('{"data": [1, "x"]}', id="entries-not-mappings"),
        pytest.param('{"data": 5}', id="data-a-number"),
        pytest.param(DEEP, id="nested"),
    ],
)
def test_doctor_reads_a_hostile_gateway_plainly(cli: Cli, tmp_path: Path, models: str) -> None:
    gateway = Hostile(
        {
            "/health/readiness": http_answer('{"status": "healthy"}'),
            "/v1/models": http_answer(models),
            "/router/settings": http_answer('{"current_values": [1]}'),
            "/model/info": http_answer('{"data": [1]}'),
        }
    )
    with serving(gateway) as gw, serving(Hostile({})) as ollama, serving(Hostile({})) as vllm:
        path = mesh(tmp_path, ollama.port, vllm.port)
        result = cli("doctor", path, "--gateway", gw.url, "--timeout", "10")
    assert_plain(result)
    assert "error[gateway-" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("body", "path"),
    [
        *[pytest.param(p.values[0], "/api/tags", id=f"ollama-{p.id}") for p in OLLAMA],
        *[pytest.param(p.values[0], "/v1/models", id=f"openai-{p.id}") for p in OPENAI],
        pytest.param(NOT_HTTP, "/api/tags", id="not-http"),
    ],
)
def test_discover_reads_hostile_answers_plainly(cli: Cli, body: str | bytes, path: str) -> None:
    hostile = Hostile({}, default=NOT_HTTP) if isinstance(body, bytes) else answering(body, path)
    with serving(hostile) as runtime:
        result = cli("discover", runtime.url, "--timeout", "10")
    assert_plain(result)


def test_a_failing_probe_thread_raises_in_the_caller_not_in_its_thread() -> None:
    """A bug in a probe reaches the command's one error handler (exit 3 with a hint), never
    a traceback printed by the thread while the command reports a timeout."""

    def broken() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        in_parallel([lambda: 1, broken], time.monotonic() + 5)


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        pytest.param(b"[Infinity]", "holds Infinity", id="infinity"),
        pytest.param(b"[-Infinity]", "holds -Infinity", id="minus-infinity"),
        pytest.param(b"[1e400]", "too large to represent", id="overflow"),
        pytest.param(b"[" + b"9" * 19 + b"]", "of 19 digits", id="long-integer"),
        pytest.param(b"[" * 65 + b"]" * 65, "nested more than 64", id="deep"),
        pytest.param(b"{", "not JSON", id="truncated"),
    ],
)
def test_decode_json_refuses_what_no_runtime_sends(raw: bytes, cause: str) -> None:
    with pytest.raises(ProbeFailure, match=cause):
        decode_json(raw)


def test_decode_json_takes_plain_answers() -> None:
    assert decode_json(b'{"a": [1, 2.5, "[{"], "b": 9007199254740992}') == {
        "a": [1, 2.5, "[{"],
        "b": 2**53,
    }
