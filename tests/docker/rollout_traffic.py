"""Traffic during a rollout, sent from a container on the stack's own network.

Run by tests/docker/test_swarm_update.py in the gateway image (it has the official openai SDK),
as `python3 rollout_traffic.py HOST PORT` with the master key in `JARVIS_KEY`. It finds the
gateway's tasks by DNS (`tasks.gateway`: one address per healthy task, as Swarm's DNS gives
them) before every request and sends it to one of them, keeping one openai client (and so
its kept-alive connections) per address, without retries: `RATE` chat completions a second
pinned to `BUSY_NODE` (alternating two models), and every `STREAM_EVERY` seconds a stream
pinned to `STREAM_NODE` (a slow fake: each stream takes several seconds); it prints a line
`{"kind": "ready"}` once every task answers from its container, then starts. On SIGTERM it stops
sending, waits for every request in flight, prints one JSON line per request (kind, address,
start and end in epoch seconds, the text or the error), then one line per address it now
finds with the models that task serves.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import openai

RATE = 10.0  # requests a second
STREAM_EVERY = 3.0  # seconds between two streams
BUSY_MODELS = ("llama3", "mistral")
BUSY_NODE = "ai-max"
STREAM_MODEL = "llama3"
STREAM_NODE = "mini"

stopping = threading.Event()
clients: dict[str, openai.OpenAI] = {}
clients_lock = threading.Lock()


def addresses(host: str, port: int) -> list[str]:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in found})


def client(address: str, port: int) -> openai.OpenAI:
    with clients_lock:
        if address not in clients:
            clients[address] = openai.OpenAI(
                base_url=f"http://{address}:{port}",
                api_key=os.environ["JARVIS_KEY"],
                max_retries=0,
                timeout=60,
            )
        return clients[address]


def request(host: str, port: int, kind: str, model: str, node: str, index: int) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": kind, "model": model, "node": node, "start": time.time()}
    try:
        address = random.choice(addresses(host, port))
        record["address"] = address
        chat = client(address, port).chat.completions
        messages: Any = [{"role": "user", "content": f"hi {index}"}]
        if kind == "stream":
            chunks = chat.create(
                model=model, messages=messages, stream=True, extra_body={"node": node}
            )
            record["text"] = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            reply = chat.create(model=model, messages=messages, extra_body={"node": node})
            record["text"] = reply.choices[0].message.content
    except Exception as exc:  # every failure is a result to report, not a crash
        cause = exc.__cause__
        record["error"] = f"{type(exc).__name__}: {exc}" + (
            f" ({type(cause).__name__}: {cause})" if cause else ""
        )
    record["end"] = time.time()
    return record


def send_until_stopped(host: str, port: int) -> list[Future[dict[str, Any]]]:
    sent: list[Future[dict[str, Any]]] = []
    per_stream = round(STREAM_EVERY * RATE)
    with ThreadPoolExecutor(max_workers=64) as pool:
        started = time.monotonic()
        index = 0
        while not stopping.is_set():
            if index % per_stream == 0:
                args = ("stream", STREAM_MODEL, STREAM_NODE, index)
                sent.append(pool.submit(request, host, port, *args))
            model = BUSY_MODELS[index % len(BUSY_MODELS)]
            sent.append(pool.submit(request, host, port, "chat", model, BUSY_NODE, index))
            index += 1
            stopping.wait(max(0.0, started + index / RATE - time.monotonic()))
    return sent


def wait_reachable(host: str, port: int, timeout: float = 60.0) -> None:
    """Until the gateway answers from here: a container's overlay network may take a moment
    to carry its first packets, which is not the gateway's doing."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            for address in addresses(host, port):
                url = f"http://{address}:{port}/health/liveliness"
                with urllib.request.urlopen(url, timeout=2):
                    pass
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    wait_reachable(host, port)
    print(json.dumps({"kind": "ready", "at": time.time()}), flush=True)
    for future in send_until_stopped(host, port):
        print(json.dumps(future.result()), flush=True)
    for address in addresses(host, port):
        models = sorted(m.id for m in client(address, port).models.list())
        print(json.dumps({"kind": "models", "address": address, "models": models}), flush=True)


if __name__ == "__main__":
    main()
