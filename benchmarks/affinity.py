"""Conversation affinity: time to first token of later turns, affinity off vs on, in one run.

Builds the same mesh twice (llama3 on three vLLM nodes; MESH below), once with
`routing.affinity: off` and once with `prefix` (the default), and serves each on 127.0.0.1 by
the stock LiteLLM proxy over three stand-in runtimes of its own. A stand-in models vLLM's
automatic prefix caching: it remembers the conversations it has served (prompt and answer,
at message boundaries) and holds the first token of a streamed answer back for a base delay
plus a prefill time per token it has not seen. Clients then hold conversations as chat
clients do (each turn sends the whole history so far, no session id), the two series in
alternating rounds so drift of the machine hits both alike, and the time to first token of
turns 2 to 10 is compared.

    python benchmarks/affinity.py                       # 3 rounds x 6 conversations x 10 turns
    python benchmarks/affinity.py --rounds 2 --prefill-ms 0.1 --base-ms 30

The default cost model (docs/benchmarks.md, "Conversation affinity") follows published vLLM
prefix-caching figures: about 0.1 ms of prefill per prompt token not in the cache, a 30 ms
floor. Prints a markdown table per series: turns, TTFT p50 / mean / p90 of turns 2-10, the
modelled delay the runtimes added (the part affinity acts on; the rest is the gateway's own
time on this machine), the share of later turns on their first turn's node, and how the
first turns spread over the nodes. All traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.harness import build, loopback_copy, start_proxy  # noqa: E402

MESH = """\
version: 1
gateway: {{master_key: "${{JARVIS_MASTER_KEY}}"}}
routing: {{affinity: {affinity}}}
nodes:
  gpu-1: {{address: gpu-1.lan, roles: [gpu], memory_gb: 64, runtimes: {{vllm: {{}}}}}}
  gpu-2: {{address: gpu-2.lan, roles: [gpu], memory_gb: 64, runtimes: {{vllm: {{}}}}}}
  gpu-3: {{address: gpu-3.lan, roles: [gpu], memory_gb: 64, runtimes: {{vllm: {{}}}}}}
models:
  llama3:
    runtime: vllm
    source: chat-8b  # a name LiteLLM fetches no tokenizer for (none can be fetched here)
    memory_gb: 16
    placement: {{roles: [gpu]}}
"""
SERIES = ("off", "prefix")
CHARS_PER_TOKEN = 4  # a rough English average, for the cost model only
SYSTEM_PROMPT = (
    "You are the home lab's assistant. Answer briefly, cite the node you ran on, "
    "prefer local tools, and never invent a command. "
) * 40  # about 1,800 tokens, an agent's system prompt with its tool descriptions
ANSWER_WORDS = 60  # each answer: about 100 tokens


# --- the stand-in runtime: an OpenAI-compatible server with a prefix cache ------------------------


@dataclass
class CostModel:
    base: float  # seconds before the first token, whatever is cached
    per_token: float  # prefill seconds per prompt token not in the cache


@dataclass
class PrefixCache:
    """Hashes of every message-boundary prefix a node has processed (prompt and answer)."""

    seen: set[bytes] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def uncached_tokens(self, messages: list[dict[str, Any]]) -> int:
        prefixes = _prefix_hashes(messages)
        with self.lock:
            hit = max((i + 1 for i, h in enumerate(prefixes) if h in self.seen), default=0)
        return sum(_tokens(m) for m in messages[hit:])

    def remember(self, messages: list[dict[str, Any]]) -> None:
        with self.lock:
            self.seen.update(_prefix_hashes(messages))


def _prefix_hashes(messages: list[dict[str, Any]]) -> list[bytes]:
    digest, out = hashlib.sha256(), []
    for message in messages:
        digest.update(json.dumps([message.get("role"), message.get("content")]).encode())
        out.append(digest.copy().digest())
    return out


def _tokens(message: dict[str, Any]) -> int:
    return len(str(message.get("content") or "")) // CHARS_PER_TOKEN + 4


class StandIn:
    """One node's vLLM stand-in on 127.0.0.1:`port`."""

    def __init__(self, name: str, port: int, cost: CostModel) -> None:
        self.name, self.cost, self.cache = name, cost, PrefixCache()
        self.delays: list[float] = []  # the modelled delay of each later turn (2 and on)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.stand_in = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, messages: list[dict[str, Any]]) -> tuple[float, str]:
        """(seconds before the first token, the answer's text); the cache then holds both."""
        delay = self.cost.base + self.cost.per_token * self.cache.uncached_tokens(messages)
        if sum(1 for m in messages if m.get("role") == "user") > 1:
            self.delays.append(delay)
        words = " ".join(f"w{i}" for i in range(ANSWER_WORDS))
        text = f"hello from {self.name}: {words}"
        self.cache.remember([*messages, {"role": "assistant", "content": text}])
        return delay, text

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._send(200, "application/json", json.dumps({"object": "list", "data": []}).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        stand_in: StandIn = self.server.stand_in  # type: ignore[attr-defined]
        delay, text = stand_in.answer(body.get("messages") or [])
        time.sleep(delay)
        model = body.get("model", "")
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            payload = {"id": "c", "object": "chat.completion", "created": 0, "model": model}
            payload |= {"choices": [choice], "usage": usage}
            self._send(200, "application/json", json.dumps(payload).encode())
            return
        events = [_chunk(model, {"role": "assistant", "content": text}, None)]
        events += [_chunk(model, {}, "stop"), b"data: [DONE]\n\n"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:  # HTTP/1.1 chunks, as a streaming runtime sends them
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    payload = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model}
    return b"data: " + json.dumps(payload | {"choices": [choice]}).encode() + b"\n\n"


# --- a gateway per series ----------------------------------------------------------------------


@dataclass
class Series:
    name: str
    url: str
    key: str
    stand_ins: list[StandIn]
    stop: Any
    ttft: dict[int, list[float]] = field(default_factory=dict)  # turn -> seconds
    first_nodes: Counter[str] = field(default_factory=Counter)
    stayed: list[bool] = field(default_factory=list)


def start_series(affinity: str, cost: CostModel, work: Path) -> Series:
    source = work / f"src-{affinity}" / "jarvis.yaml"
    source.parent.mkdir(parents=True)
    source.write_text(MESH.format(affinity=affinity), encoding="utf-8")
    copy = loopback_copy(source, work / f"mesh-{affinity}")
    stand_ins = [
        StandIn(str(d.node), int(urlsplit(str(d.api_base)).port or 0), cost)
        for d in copy.mesh.deployments
    ]
    out = build(copy.path, work / f"out-{affinity}", copy.env)
    proxy = start_proxy(out / "litellm" / "config.yaml", copy.env)

    def stop() -> None:
        proxy.stop()
        for stand_in in stand_ins:
            stand_in.stop()

    return Series(affinity, proxy.url, copy.master_key, stand_ins, stop)


def hold_conversation(series: Series, client: Any, opening: str, turns: int) -> None:
    messages: list[dict[str, str]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": opening},
    ]
    nodes: list[str] = []
    for turn in range(1, turns + 1):
        start = time.monotonic()
        stream = client.chat.completions.create(model="llama3", messages=messages, stream=True)
        first: float | None = None
        text = ""
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first = first or time.monotonic() - start
                text += chunk.choices[0].delta.content
        series.ttft.setdefault(turn, []).append(first or float("nan"))
        nodes.append(text.split(":")[0].removeprefix("hello from "))
        messages += [
            {"role": "assistant", "content": text},
            {"role": "user", "content": f"Thanks. Now step {turn + 1}, please: what next?"},
        ]
    series.first_nodes[nodes[0]] += 1
    series.stayed += [node == nodes[0] for node in nodes[1:]]


def run_round(series: Series, number: int, conversations: int, turns: int, workers: int) -> None:
    import openai

    client = openai.OpenAI(base_url=series.url, api_key=series.key, max_retries=0, timeout=60)
    openings = [f"Round {number}, conversation {i}: plan my backups." for i in range(conversations)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda o: hold_conversation(series, client, o, turns), openings))


# --- the report --------------------------------------------------------------------------------


def report(all_series: list[Series], cost: CostModel) -> str:
    lines = [
        f"cost model: {cost.base * 1000:g} ms + {cost.per_token * 1000:g} ms per uncached "
        "prompt token before the first token",
        "",
        "| affinity | turns 2-10 | TTFT p50 ms | TTFT mean ms | TTFT p90 ms | turn 1 p50 ms "
        "| runtime's share: prefill mean ms | later turns on the first turn's node "
        "| first turns per node |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for series in all_series:
        later = [t for turn, times in series.ttft.items() if turn > 1 for t in times]
        cuts = statistics.quantiles(later, n=10)
        spread = ", ".join(f"{n} {c}" for n, c in sorted(series.first_nodes.items()))
        prefill = [d for stand_in in series.stand_ins for d in stand_in.delays]
        lines.append(
            f"| {series.name} | {len(later)} | {statistics.median(later) * 1000:.0f} "
            f"| {statistics.fmean(later) * 1000:.0f} | {cuts[-1] * 1000:.0f} "
            f"| {statistics.median(series.ttft[1]) * 1000:.0f} "
            f"| {statistics.fmean(prefill) * 1000:.0f} "
            f"| {100 * sum(series.stayed) / len(series.stayed):.0f}% | {spread} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=6, help="per round and series")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3, help="conversations at once")
    parser.add_argument("--base-ms", type=float, default=30.0)
    parser.add_argument("--prefill-ms", type=float, default=0.1, help="per uncached token")
    args = parser.parse_args(argv)
    cost = CostModel(base=args.base_ms / 1000, per_token=args.prefill_ms / 1000)
    with tempfile.TemporaryDirectory(prefix="jarvis-affinity-") as tmp:
        all_series: list[Series] = []
        try:
            for affinity in SERIES:
                all_series.append(start_series(affinity, cost, Path(tmp)))
            for number in range(args.rounds):
                order = all_series if number % 2 == 0 else list(reversed(all_series))
                for series in order:
                    run_round(series, number, args.conversations, args.turns, args.workers)
        finally:
            for series in all_series:
                series.stop()
    print(report(all_series, cost))


if __name__ == "__main__":
    main()
