"""The callback's cost on the proxy's hot path, per request: the pre-call hook (pin, key
window, parallel slot) on a pinned request of examples/homelab, and the affinity decision
(`async_filter_deployments`) on a three-node group for a 10th turn with a system prompt of
about 1,000 words, with a session id, and for a pinned request. Figures go to
docs/benchmarks.md ("The callback on the hot path").

    python benchmarks/callback_hooks.py            # best of 5 rounds each

The callback is loaded by path from a rendered litellm/ folder, as the proxy loads it. Each
figure is the best of several rounds, so other work on the machine counts less.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jarvis_config.render import litellm as target  # noqa: E402
from tests.callback.test_affinity import (  # noqa: E402
    build_callback,
    conversation,
    deployments,
    kwargs_with,
)
from tests.callback.test_jarvis_router import load_callback, request  # noqa: E402
from tests.kit import compile_mesh  # noqa: E402


def per_call(step: Callable[[], Awaitable[Any]], count: int, rounds: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(count):
            await step()
        return (time.perf_counter() - start) / count

    return min(asyncio.run(run()) for _ in range(rounds))


def pre_call_hook(folder: Path, count: int, rounds: int) -> float:
    handler = load_callback(folder, target.render(compile_mesh("homelab"))).proxy_handler_instance

    async def step() -> None:
        data = await handler.async_pre_call_hook(
            None, None, request("chat", node="mini"), "acompletion"
        )
        handler.slots.leave(data)  # as the success hook does

    return per_call(step, count, rounds)


def affinity(folder: Path, count: int, rounds: int) -> dict[str, float]:
    handler = build_callback(folder, "prefix").proxy_handler_instance
    system = {"role": "system", "content": "You are a careful assistant. " * 200}
    long_turn = [system, *conversation("plan a trip", 10)[1:]]
    plain = kwargs_with({"user-agent": "n8n", "content-type": "application/json"})
    with_session = kwargs_with({"x-jarvis-session": "conversation-42"})
    listed = deployments()
    one = deployments(nodes=("a",))
    cases = {
        "10th turn, 1,000-word system prompt": ("llama3", listed, long_turn, plain),
        "session id header": ("llama3", listed, long_turn, with_session),
        "pinned (a group of one)": ("llama3@a", one, long_turn, plain),
    }
    return {
        name: per_call(lambda args=args: handler.async_filter_deployments(*args), count, rounds)
        for name, args in cases.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {
            "pre-call hook, pinned request": pre_call_hook(Path(tmp, "a"), args.count, args.rounds)
        }
        figures.update(affinity(Path(tmp, "b"), args.count, args.rounds))
    for name, seconds in figures.items():
        print(f"{name:40} {seconds * 1e6:7.1f} µs")


if __name__ == "__main__":
    main()
