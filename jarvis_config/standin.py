"""Stand-in model runtimes: small servers that answer like Ollama or an OpenAI-compatible
server (vLLM, llama.cpp), so a mesh can be served on one machine before any runtime exists.

`jarvis-config try` starts one per runtime port of the mesh; the project's tests use the same
servers in place of real runtimes (the gateway stays the real LiteLLM proxy). Standard library
only, so this file also runs on its own anywhere Python does (a test process, a container):

    python standin.py --name ai-max --port 11434 --flavor ollama
    python standin.py --name openai --port 9000 --flavor openai

or, in a program:

    with StandIn("ai-max", flavor="ollama") as runtime:
        ...  # runtime.port, runtime.url, runtime.requests()

Every answer says which node produced it ("hello from ai-max"; with `say_model`, also the
model asked for: "hello from ai-max (llama3:8b)"), so a caller can tell where a request went
(an embedding's first value is the node's own number, `node_vector`). The Ollama flavor serves
/api/chat and /api/generate (NDJSON when streaming, as Ollama does), /api/embed, /api/tags,
/api/show and /api/version; the OpenAI flavor serves /v1/chat/completions and /v1/completions
(real SSE chunks ending with `data: [DONE]`), /v1/embeddings and /v1/models. Each request body
received is recorded and served back at `GET /_requests` (`DELETE /_requests` clears them), so
a test can assert that no `node` field ever reached a runtime. A prompt longer than
`context_chars` characters is refused with the context-length error a vLLM server gives, which
LiteLLM maps to a context-window error. Given `models` (StandInModel values), the listing
endpoints answer with exactly those, as each runtime does (what `jarvis-config doctor` reads):
Ollama /api/tags and /api/show, vLLM /v1/models with `max_model_len` and, with `llamacpp=True`,
the llama.cpp server's /props.

Tool calls, as agents use them: a chat request offering `tools` is answered with a call to the
first tool, arguments `{"node": NAME}`, in the runtime's own wire format (Ollama: arguments as
an object, the call whole in one NDJSON line; OpenAI: arguments as a JSON string with an id,
streamed as deltas that split the arguments). Once the conversation holds a tool result, the
answer is text: "hello from NAME; tool said: RESULT".

Faults, for tests, switched on and off while it runs (`runtime.fault = "freeze"`,
`runtime.fault = None`) and applied to every POST (health checks included):
- `freeze`: accept connections and never answer, as a runtime stopped with SIGSTOP does,
  until the fault is cleared (then the held requests are answered, late);
- `error`: answer HTTP 500 with an error body;
- `malformed`: answer 200 with a body that is not valid JSON;
- `cut`: a stream stops after its first chunk and the connection is closed without the
  stream's end; a non-streamed answer is closed half-way through its body;
- `stall`: send the answer's headers (200), then nothing, until the fault is cleared (a
  runtime that hangs mid-generation);
- `endless`: a stream that keeps sending chunks (every `token_delay`, or 50 ms) until the
  fault is cleared (a runaway generation); non-streamed answers, health checks among them,
  are normal;
- `drip`: send the answer one byte every `DRIP_EVERY` seconds (a stream: after its first
  chunk);
- `crawl`: send the answer one byte every `DRIP_EVERY` seconds from its very first byte (a
  stream too: its first chunk never arrives whole);
- `wrong-shape`: answer 200 with valid JSON that is not the runtime's answer format (a chat
  answer without its message; streamed, chunks without it).
`token_delay` (seconds) slows every streamed chunk, and a non-streamed answer by as much as its
chunks would take; `stream_delay` slows streamed chunks only (health checks, not streamed,
are answered at once). Restarting a runtime is `stop()` and a new `StandIn` on the same port.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FLAVORS = ("ollama", "openai")
NOT_FOUND = object()  # a GET route's answer for "404: no such thing here"


@dataclass(frozen=True)
class StandInModel:
    """A model a stand-in lists: Ollama /api/tags and /api/show, vLLM-style /v1/models
    (`max_model_len`) and, with `llamacpp`, the llama.cpp server's /props."""

    name: str
    context: int | None = None
    quantization: str | None = None
    size: int = 4_000_000_000


FAULTS = (
    "freeze",
    "error",
    "malformed",
    "cut",
    "stall",
    "endless",
    "drip",
    "crawl",
    "wrong-shape",
)
HOLDING_FAULTS = ("freeze", "stall", "endless", "drip", "crawl")  # held until cleared
DRIP_EVERY = 0.5  # seconds between two bytes of a dripping answer
ENDLESS_EVERY = 0.05  # seconds between two chunks of an endless stream (without token_delay)
CHUNK_WORDS = 3  # a streamed answer arrives in this many chunks


def answer_text(name: str, model: str | None = None) -> str:
    """What a stand-in answers: its node's name and, when given, the model asked for."""
    return f"hello from {name} ({model})" if model else f"hello from {name}"


def tool_call_wanted(body: dict[str, Any]) -> str | None:
    """The tool to call: the first one offered, unless the conversation already holds a
    tool result (then the model answers in text)."""
    tools = body.get("tools") or []
    messages = body.get("messages") or []
    if not tools or any(m.get("role") == "tool" for m in messages if isinstance(m, dict)):
        return None
    return str(tools[0].get("function", {}).get("name", ""))


def tool_arguments(name: str) -> dict[str, str]:
    return {"node": name}


def tool_result_text(greeting: str, body: dict[str, Any]) -> str | None:
    """The text answer after a tool result, naming what the tool said; None without one."""
    results = [
        m.get("content")
        for m in body.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "tool"
    ]
    return f"{greeting}; tool said: {results[-1]}" if results else None


class StandIn:
    """One stand-in runtime on 127.0.0.1, served from a background thread."""

    def __init__(
        self,
        name: str,
        *,
        flavor: str = "ollama",
        port: int = 0,
        host: str = "127.0.0.1",
        context_chars: int | None = None,
        models: Sequence[StandInModel] | None = None,
        llamacpp: bool = False,
        say_model: bool = False,
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"unknown flavor {flavor!r}; choose one of {', '.join(FLAVORS)}")
        self.name = name
        self.flavor = flavor
        self.context_chars = context_chars
        self.models = None if models is None else tuple(models)  # None: the default listing
        self.llamacpp = llamacpp
        self.say_model = say_model
        self._received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._fault: str | None = None
        self._thawed = threading.Event()
        self._thawed.set()
        self.token_delay = 0.0
        self.stream_delay = 0.0
        self.in_flight = 0  # POST requests being answered now
        self.max_in_flight = 0  # the most seen at once since start (or reset_in_flight)
        self._stopping = False
        self._server = _Server((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fault(self) -> str | None:
        return self._fault

    @fault.setter
    def fault(self, fault: str | None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}")
        self._fault = fault
        if fault in HOLDING_FAULTS:
            self._thawed.clear()
        else:
            self._thawed.set()

    @property
    def faulted(self) -> bool:
        """Whether the fault a handler started with is still on (and the runtime running)."""
        return not self._thawed.is_set() and not self._stopping

    def hold_while_frozen(self) -> None:
        """Block the calling handler while the runtime is frozen (or until it stops)."""
        while not self._thawed.wait(timeout=0.5):
            if self._stopping:
                return

    def start(self) -> StandIn:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"standin-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, close the port and every open connection: the node is down, and a
        client's kept-alive connection fails as a new one is refused."""
        self._stopping = True
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, body: dict[str, Any]) -> str:
        """The text answer to a request: after a tool result, what the tool said."""
        model = str(body.get("model", "")) if self.say_model else None
        greeting = answer_text(self.name, model)
        return tool_result_text(greeting, body) or greeting

    def record(self, method: str, path: str, body: Any, authorization: str | None) -> None:
        with self._lock:
            self._received.append(
                {"method": method, "path": path, "body": body, "authorization": authorization}
            )

    def requests(self) -> list[dict[str, Any]]:
        """Every request received so far: {"method", "path", "body", "authorization"}."""
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def reset_in_flight(self) -> None:
        with self._lock:
            self.max_in_flight = self.in_flight

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count a request as in flight while it is answered (for max_in_flight)."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], runtime: StandIn
    ) -> None:
        self.runtime = runtime
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client hung up, or stop() closed the connection: normal for a runtime
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real runtimes do
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read /_requests instead

    @property
    def runtime(self) -> StandIn:
        return self.server.runtime

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/_requests":
            self._json(200, self.runtime.requests())
            return
        self.runtime.record("GET", path, None, self.headers.get("Authorization"))
        route = GET_ROUTES[self.runtime.flavor].get(path)
        if route is None:
            self._json(404, {"error": f"no route GET {path}"})
            return
        answer = route(self.runtime)
        if answer is NOT_FOUND:
            self._json(404, {"error": f"not found: {path}"})
            return
        self._json(200, answer)

    def do_DELETE(self) -> None:
        if self.path == "/_requests":
            self.runtime.clear()
            self._json(200, {"cleared": True})
        else:
            self._json(404, {"error": f"no route DELETE {self.path}"})

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._json(400, {"error": "request body is not JSON"})
            return
        self.runtime.record("POST", path, body, self.headers.get("Authorization"))
        with self.runtime.answering():
            if self._faulted(body):
                return
            route = POST_ROUTES[self.runtime.flavor].get(path)
            if route is None:
                self._json(404, {"error": f"no route POST {path}"})
                return
            route(self, body)

    def _faulted(self, body: dict[str, Any]) -> bool:
        """Apply the runtime's fault, if any; True when the request has been answered."""
        fault = self.runtime.fault
        streamed = bool(body.get("stream", self.runtime.flavor == "ollama"))
        if fault == "freeze":
            self.runtime.hold_while_frozen()
        elif fault == "error":
            self._json(500, {"error": f"runtime on {self.runtime.name} failed"})
            return True
        elif fault == "malformed" or (fault == "cut" and not streamed):
            self._raw(200, b'{"model": "fake", "choices": [{"mess', cut=fault == "cut")
            return True
        elif fault in SENDING_FAULTS and (streamed or fault != "endless"):
            SENDING_FAULTS[fault](self, body, streamed)
            return True
        elif self.runtime.token_delay and not streamed:
            time.sleep(self.runtime.token_delay * (CHUNK_WORDS + 1))
        return False

    def _start(self, streamed: bool, length: int = 1 << 20) -> None:
        """Headers of a 200 answer: chunked when streamed, else a Content-Length."""
        self.send_response(200)
        if streamed:
            ollama = self.runtime.flavor == "ollama"
            kind = "application/x-ndjson" if ollama else "text/event-stream"
            self.send_header("Content-Type", kind)
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.flush()

    def _send_piece(self, piece: bytes, streamed: bool) -> None:
        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if streamed else piece)
        self.wfile.flush()

    def _raw(self, status: int, data: bytes, *, cut: bool = False) -> None:
        """Send `data` as a JSON body; `cut`: announce a longer body and close the connection
        before it is complete."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) * (2 if cut else 1)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if cut:
            self._hang_up()

    def _hang_up(self) -> None:
        """Close the connection at once, mid-answer, as a crashing runtime does."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, content_type: str, pieces: Iterator[bytes]) -> None:
        """HTTP/1.1 chunked transfer, one chunk per piece, as a streaming runtime sends."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        delay = self.runtime.token_delay or self.runtime.stream_delay
        for index, piece in enumerate(pieces):
            if index and delay:
                time.sleep(delay)
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
            if self.runtime.fault == "cut":
                self._hang_up()
                return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def too_long(self, body: dict[str, Any]) -> bool:
        limit = self.runtime.context_chars
        prompt = body.get("messages", body.get("prompt"))
        return limit is not None and len(json.dumps(prompt)) > limit


def _words(text: str) -> list[str]:
    """Split an answer into CHUNK_WORDS pieces that join back to the text."""
    words = text.split(" ")
    size = max(1, -(-len(words) // CHUNK_WORDS))
    groups = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [g if i == 0 else " " + g for i, g in enumerate(groups)]


# --- Ollama flavor -----------------------------------------------------------------------------


def _ollama_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


def _ollama_final(model: str, key: str, content: str) -> dict[str, Any]:
    final: dict[str, Any] = {
        "model": model,
        "created_at": _ollama_now(),
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "load_duration": 1000,
        "prompt_eval_count": 5,
        "prompt_eval_duration": 1000,
        "eval_count": 4,
        "eval_duration": 1000,
    }
    final[key] = {"role": "assistant", "content": content} if key == "message" else content
    return final


def _ollama_answer(handler: _Handler, body: dict[str, Any], key: str) -> None:
    model = str(body.get("model", ""))
    if handler.too_long(body):
        handler._json(400, {"error": "input length exceeds the maximum context length"})
        return
    text = handler.runtime.answer(body)
    tool = tool_call_wanted(body) if key == "message" else None
    if tool is not None:
        _ollama_tool_call(handler, body, model, tool)
        return
    if body.get("stream", True) is False:  # Ollama streams unless told not to
        handler._json(200, _ollama_final(model, key, text))
        return

    def lines() -> Iterator[bytes]:
        for piece in _words(text):
            part = {"role": "assistant", "content": piece} if key == "message" else piece
            chunk = {"model": model, "created_at": _ollama_now(), key: part, "done": False}
            yield json.dumps(chunk).encode() + b"\n"
        yield json.dumps(_ollama_final(model, key, "")).encode() + b"\n"

    handler._stream("application/x-ndjson", lines())


def _ollama_tool_call(handler: _Handler, body: dict[str, Any], model: str, tool: str) -> None:
    """Ollama's tool call: arguments as an object, no id; streamed whole in one line."""
    call = {"function": {"name": tool, "arguments": tool_arguments(handler.runtime.name)}}
    final = _ollama_final(model, "message", "")
    if body.get("stream", True) is False:
        final["message"]["tool_calls"] = [call]
        handler._json(200, final)
        return
    message = {"role": "assistant", "content": "", "tool_calls": [call]}
    line = {"model": model, "created_at": _ollama_now(), "message": message, "done": False}
    handler._stream(
        "application/x-ndjson",
        iter([json.dumps(line).encode() + b"\n", json.dumps(final).encode() + b"\n"]),
    )


def _ollama_tags(runtime: StandIn) -> dict[str, Any]:
    if runtime.models is not None:
        return {"models": [_ollama_tag(m) for m in runtime.models]}
    seen = {
        str(r["body"].get("model"))
        for r in runtime.requests()
        if isinstance(r["body"], dict) and r["body"].get("model")
    }
    return {
        "models": [
            {"name": m, "model": m, "size": 1, "details": {"family": "fake"}} for m in sorted(seen)
        ]
    }


def _ollama_embed(handler: _Handler, body: dict[str, Any]) -> None:
    """Ollama's /api/embed: one vector per input, whose first value tells the node apart."""
    count = _input_count(body)
    handler._json(
        200,
        {
            "model": str(body.get("model", "")),
            "embeddings": [node_vector(handler.runtime.name)] * count,
            "prompt_eval_count": count,
        },
    )


def _input_count(body: dict[str, Any]) -> int:
    """How many texts an embeddings request holds: a list of them, or one."""
    inputs = body.get("input")
    return len(inputs) if isinstance(inputs, list) else 1


def node_vector(name: str) -> list[float]:
    """The embedding a stand-in answers with: a node's own vector, so a test sees who answered."""
    return [float(sum(name.encode()) % 997), 0.5, 0.25]


def _ollama_tag(model: StandInModel) -> dict[str, Any]:
    details = {"family": "fake", "quantization_level": model.quantization or ""}
    return {"name": model.name, "model": model.name, "size": model.size, "details": details}


def _ollama_show(handler: _Handler, body: dict[str, Any]) -> None:
    if handler.runtime.models is not None:
        _ollama_show_listed(handler, str(body.get("model", "")))
        return
    handler._json(
        200,
        {
            "modelfile": "",
            "parameters": "",
            "template": "{{ .Prompt }}",
            "details": {"family": "fake", "parameter_size": "1B", "quantization_level": "Q4_0"},
            "model_info": {"general.architecture": "fake", "fake.context_length": 8192},
            "capabilities": ["completion"],
        },
    )


def _ollama_show_listed(handler: _Handler, name: str) -> None:
    model = next((m for m in handler.runtime.models or () if m.name == name), None)
    if model is None:
        handler._json(404, {"error": f"model '{name}' not found"})
        return
    info: dict[str, Any] = {"general.architecture": "fake"}
    if model.context:
        info["fake.context_length"] = model.context
    details = {"family": "fake", "quantization_level": model.quantization or ""}
    handler._json(200, {"parameters": "", "details": details, "model_info": info})


# --- OpenAI flavor -----------------------------------------------------------------------------


def _openai_chat(handler: _Handler, body: dict[str, Any]) -> None:
    _openai_answer(handler, body, chat=True)


def _openai_completion(handler: _Handler, body: dict[str, Any]) -> None:
    _openai_answer(handler, body, chat=False)


def _openai_answer(handler: _Handler, body: dict[str, Any], *, chat: bool) -> None:
    model = str(body.get("model", ""))
    if handler.too_long(body):
        handler._json(
            400,
            {
                "object": "error",
                "type": "BadRequestError",
                "code": 400,
                "message": "This model's maximum context length is "
                f"{handler.runtime.context_chars} tokens. However, you "
                "requested more tokens in the messages.",
            },
        )
        return
    text = handler.runtime.answer(body)
    ident = f"chatcmpl-fake-{handler.runtime.name}"
    tool = tool_call_wanted(body) if chat else None
    if tool is not None:
        _openai_tool_call(handler, body, ident, model, tool)
        return
    if not body.get("stream"):
        handler._json(200, _openai_full(ident, model, text, chat=chat))
        return

    def events() -> Iterator[bytes]:
        for index, piece in enumerate(_words(text)):
            yield _sse(_openai_chunk(ident, model, piece, first=index == 0, chat=chat))
        yield _sse(_openai_chunk(ident, model, None, first=False, chat=chat))
        yield b"data: [DONE]\n\n"

    handler._stream("text/event-stream", events())


def _openai_tool_call(
    handler: _Handler, body: dict[str, Any], ident: str, model: str, tool: str
) -> None:
    """OpenAI's tool call: arguments as a JSON string with a call id, finish_reason
    tool_calls; streamed as deltas, the name first, then the arguments in two pieces."""
    arguments = json.dumps(tool_arguments(handler.runtime.name))
    call_id = f"call-{handler.runtime.name}-0"
    if not body.get("stream"):
        full = _openai_full(ident, model, "", chat=True)
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": tool, "arguments": arguments},
        }
        full["choices"][0].update(
            finish_reason="tool_calls",
            message={"role": "assistant", "content": None, "tool_calls": [call]},
        )
        handler._json(200, full)
        return
    half = len(arguments) // 2
    first = {"index": 0, "id": call_id, "type": "function", "function": {"name": tool}}
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "tool_calls": [first]},
        {"tool_calls": [{"index": 0, "function": {"arguments": arguments[:half]}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]},
    ]
    handler._stream("text/event-stream", _tool_call_events(ident, model, deltas))


def _tool_call_events(ident: str, model: str, deltas: list[dict[str, Any]]) -> Iterator[bytes]:
    for delta in deltas:
        chunk = _openai_chunk(ident, model, None, first=False, chat=True)
        chunk["choices"][0].update(delta=delta, finish_reason=None)
        yield _sse(chunk)
    last = _openai_chunk(ident, model, None, first=False, chat=True)
    last["choices"][0]["finish_reason"] = "tool_calls"
    yield _sse(last)
    yield b"data: [DONE]\n\n"


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _openai_full(ident: str, model: str, text: str, *, chat: bool) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop", "logprobs": None}
    if chat:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    return {
        "id": ident,
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
    }


def _openai_chunk(
    ident: str, model: str, piece: str | None, *, first: bool, chat: bool
) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "logprobs": None,
        "finish_reason": None if piece is not None else "stop",
    }
    if chat:
        delta: dict[str, Any] = {"role": "assistant"} if first else {}
        if piece is not None:
            delta["content"] = piece
        choice["delta"] = delta
    else:
        choice["text"] = piece or ""
    return {
        "id": ident,
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }


def _openai_embeddings(handler: _Handler, body: dict[str, Any]) -> None:
    count = _input_count(body)
    handler._json(
        200,
        {
            "object": "list",
            "model": str(body.get("model", "")),
            "data": [
                {"object": "embedding", "index": i, "embedding": node_vector(handler.runtime.name)}
                for i in range(count)
            ],
            "usage": {"prompt_tokens": count, "total_tokens": count},
        },
    )


def _openai_models(runtime: StandIn) -> dict[str, Any]:
    if runtime.models is not None:
        return {"object": "list", "data": [_openai_model(runtime, m) for m in runtime.models]}
    return {
        "object": "list",
        "data": [
            {
                "id": f"{runtime.name}-model",
                "object": "model",
                "created": 0,
                "owned_by": runtime.name,
            }
        ],
    }


def _openai_model(runtime: StandIn, model: StandInModel) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": model.name, "object": "model", "owned_by": runtime.name}
    if model.context and not runtime.llamacpp:
        entry["max_model_len"] = model.context  # as vLLM reports it
    return entry


def _llamacpp_props(runtime: StandIn) -> Any:
    """The llama.cpp server's /props: the context it was started with, its model file."""
    if not runtime.llamacpp or not runtime.models:
        return NOT_FOUND
    model = runtime.models[0]
    return {
        "default_generation_settings": {"n_ctx": model.context},
        "model_path": f"/models/{model.name}.gguf",
    }


# --- faults that send something: a stall, an endless stream, a drip, a wrong shape ------------


def _stall(handler: _Handler, body: dict[str, Any], streamed: bool) -> None:
    handler._start(streamed)
    handler.runtime.hold_while_frozen()
    handler._hang_up()


def _endless(handler: _Handler, body: dict[str, Any], streamed: bool) -> None:
    handler._start(True)
    model = str(body.get("model", ""))
    count = 0
    while handler.runtime.faulted:
        count += 1  # each chunk differs: LiteLLM cuts a stream that repeats one chunk
        handler._send_piece(_one_chunk(handler.runtime, model, f"tick {count} "), True)
        time.sleep(handler.runtime.token_delay or ENDLESS_EVERY)
    handler._hang_up()


def _drip(handler: _Handler, body: dict[str, Any], streamed: bool) -> None:
    """The whole normal answer, one byte at a time while the fault lasts, then the rest; a
    stream sends its first chunk whole first (a runtime that slows to a crawl mid-answer)."""
    _dribble(handler, body, streamed, whole_first_chunk=True)


def _crawl(handler: _Handler, body: dict[str, Any], streamed: bool) -> None:
    """As `_drip`, from the answer's first byte (a stream's first chunk never arrives)."""
    _dribble(handler, body, streamed, whole_first_chunk=False)


def _dribble(
    handler: _Handler, body: dict[str, Any], streamed: bool, *, whole_first_chunk: bool
) -> None:
    data = _whole_answer(handler.runtime, body, streamed)
    handler._start(streamed, len(data))
    first = data.index(b"\n") + 1 if streamed and whole_first_chunk else 0
    if first:
        handler._send_piece(data[:first], streamed)
    for index in range(first, len(data)):
        if not handler.runtime.faulted:
            handler._send_piece(data[index:], streamed)
            break
        handler._send_piece(data[index : index + 1], streamed)
        time.sleep(DRIP_EVERY)
    if streamed:
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


def _wrong_shape(handler: _Handler, body: dict[str, Any], streamed: bool) -> None:
    model = str(body.get("model", ""))
    if handler.runtime.flavor == "ollama":
        shaped = [{"model": model, "done": False}, {"model": model, "done": True}]
        lines = [json.dumps(line).encode() + b"\n" for line in shaped]
    else:
        shaped = [{"id": "x", "object": "chat.completion.chunk", "result": "hello"}]
        lines = [_sse(line) for line in shaped] + [b"data: [DONE]\n\n"]
    if streamed:
        ollama = handler.runtime.flavor == "ollama"
        handler._stream("application/x-ndjson" if ollama else "text/event-stream", iter(lines))
        return
    handler._json(200, {"model": model, "done": True, "result": "hello"})


def _one_chunk(runtime: StandIn, model: str, piece: str) -> bytes:
    if runtime.flavor == "ollama":
        part = {"role": "assistant", "content": piece}
        line = {"model": model, "created_at": _ollama_now(), "message": part, "done": False}
        return json.dumps(line).encode() + b"\n"
    return _sse(_openai_chunk("chatcmpl-fake-endless", model, piece, first=False, chat=True))


def _whole_answer(runtime: StandIn, body: dict[str, Any], streamed: bool) -> bytes:
    model, text = str(body.get("model", "")), answer_text(runtime.name)
    if not streamed:
        if runtime.flavor == "ollama":
            return json.dumps(_ollama_final(model, "message", text)).encode()
        return json.dumps(_openai_full("chatcmpl-fake", model, text, chat=True)).encode()
    pieces = [_one_chunk(runtime, model, piece) for piece in _words(text)]
    if runtime.flavor == "ollama":
        pieces.append(json.dumps(_ollama_final(model, "message", "")).encode() + b"\n")
    else:
        pieces += [_sse(_openai_chunk("chatcmpl-fake", model, None, first=False, chat=True))]
        pieces.append(b"data: [DONE]\n\n")
    return b"".join(pieces)


SENDING_FAULTS = {
    "stall": _stall,
    "endless": _endless,
    "drip": _drip,
    "crawl": _crawl,
    "wrong-shape": _wrong_shape,
}


GET_ROUTES: dict[str, dict[str, Any]] = {
    "ollama": {
        "/api/tags": _ollama_tags,
        "/api/version": lambda _: {"version": "0.0.0-fake"},
        "/": lambda _: "Ollama is running",
    },
    "openai": {
        "/v1/models": _openai_models,
        "/health": lambda _: {"status": "ok"},
        "/props": _llamacpp_props,
    },
}
POST_ROUTES: dict[str, dict[str, Any]] = {
    "ollama": {
        "/api/chat": lambda h, b: _ollama_answer(h, b, "message"),
        "/api/generate": lambda h, b: _ollama_answer(h, b, "response"),
        "/api/show": _ollama_show,
        "/api/embed": _ollama_embed,
    },
    "openai": {
        "/v1/chat/completions": _openai_chat,
        "/v1/completions": _openai_completion,
        "/v1/embeddings": _openai_embeddings,
    },
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A stand-in Ollama or OpenAI-compatible runtime.")
    parser.add_argument("--name", required=True, help="the node name put into every answer")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--flavor", choices=FLAVORS, default="ollama")
    parser.add_argument(
        "--context-chars",
        type=int,
        default=None,
        help="refuse prompts longer than this with a context-length error",
    )
    parser.add_argument(
        "--models",
        default=None,
        help='the models it lists, as JSON: [{"name": "llama3:8b", "context": 8192}, ...]',
    )
    parser.add_argument("--llamacpp", action="store_true", help="also answer /props")
    parser.add_argument(
        "--stream-delay", type=float, default=0.0, help="seconds between two streamed chunks"
    )
    parser.add_argument(
        "--say-model", action="store_true", help="name the model asked for in every answer"
    )
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.0,
        help="seconds between two streamed chunks, and as long for a whole answer",
    )
    args = parser.parse_args(argv)
    models = None if args.models is None else [StandInModel(**m) for m in json.loads(args.models)]
    runtime = StandIn(
        args.name,
        flavor=args.flavor,
        port=args.port,
        host=args.host,
        context_chars=args.context_chars,
        models=models,
        llamacpp=args.llamacpp,
        say_model=args.say_model,
    )
    runtime.stream_delay = args.stream_delay
    runtime.token_delay = args.token_delay
    print(f"stand-in {args.flavor} runtime {args.name!r} on {args.host}:{runtime.port}", flush=True)
    try:
        runtime._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        runtime._server.server_close()


if __name__ == "__main__":
    main()
