"""A closed loop of unpinned requests against a gateway while one node freezes: the load the
frozen-node benchmark (benchmarks/frozen_load.py) and the under-load test share."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from tests.e2e.harness import Gateway

NODE = "mini"  # the node that freezes; llama3 runs on ai-max and mini
CLIENT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Sample:
    start: float
    end: float
    ok: bool


async def client_loop(gw: Gateway, until: float, samples: list[Sample]) -> None:
    headers = {"Authorization": f"Bearer {gw.copy.master_key}"}
    body = {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=gw.url, timeout=CLIENT_TIMEOUT) as client:
        while time.monotonic() < until:
            start = time.monotonic()
            try:
                reply = await client.post("/chat/completions", json=body, headers=headers)
                ok = reply.status_code == 200
            except httpx.HTTPError:
                ok = False
            samples.append(Sample(start, time.monotonic(), ok))


async def load(gw: Gateway, clients: int, warm: float, frozen: float) -> tuple[float, list[Sample]]:
    """Run the clients; freeze NODE after `warm` s for `frozen` s. Returns the freeze's start."""
    samples: list[Sample] = []
    begin = time.monotonic()
    until = begin + warm + frozen
    loops = [asyncio.create_task(client_loop(gw, until, samples)) for _ in range(clients)]
    await asyncio.sleep(warm)
    for runtime in gw.fakes.by_name[NODE]:
        runtime.fault = "freeze"
    frozen_at = time.monotonic()
    await asyncio.sleep(frozen)
    for runtime in gw.fakes.by_name[NODE]:
        runtime.fault = None  # the requests it held are answered, late
    await asyncio.wait(loops, timeout=CLIENT_TIMEOUT)
    return frozen_at, samples


@dataclass(frozen=True)
class Summary:
    before: float  # answers/s before the freeze (after a 2 s warm-up)
    during: float  # answers/s from `settle` s into the freeze to its end
    p50: float  # of the requests started in that window
    longest: float  # of all requests
    errors: int  # of all requests


def summarize(samples: list[Sample], frozen_at: float, frozen: float, settle: float) -> Summary:
    first = min(s.start for s in samples) + 2
    window = (frozen_at + settle, frozen_at + frozen)
    started = [s.end - s.start for s in samples if window[0] <= s.start < window[1]]
    return Summary(
        before=sum(s.ok and first <= s.end < frozen_at for s in samples) / (frozen_at - first),
        during=sum(s.ok and window[0] <= s.end < window[1] for s in samples) / (frozen - settle),
        p50=statistics.median(started) if started else float("nan"),
        longest=max((s.end - s.start for s in samples), default=0.0),
        errors=sum(not s.ok for s in samples),
    )
