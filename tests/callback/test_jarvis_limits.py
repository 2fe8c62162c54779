"""The callback's parallel slots and key windows, in one event loop as in the proxy: a request
over its model's share waits for a slot, then gets a 429 whose Retry-After is truthful; a slot
is given back exactly once; a key over its rpm learns when its minute frees."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jarvis_config.render import litellm as target
from tests.callback.test_jarvis_router import load_callback
from tests.kit import compile_mesh


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return load_callback(tmp_path_factory.mktemp("limits"), target.render(compile_mesh("homelab")))


class Table:
    """The parts of the routing table ParallelSlots reads: one model, one deployment."""

    def __init__(self, slots: int, seconds: float) -> None:
        self.queues = {"tiny": {"slots": slots, "seconds": seconds, "hold_seconds": 90.0}}
        self.models = {"tiny": {"deployments": ["tiny@n1"]}}


def request() -> dict[str, Any]:
    return {"model": "tiny", "metadata": {}}


def test_a_request_over_the_share_waits_for_a_slot(module: ModuleType) -> None:
    slots = module.ParallelSlots(Table(slots=1, seconds=5.0))

    async def run() -> float:
        first, second = request(), request()
        await slots.enter("tiny", first)
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, slots.leave, first)
        start = loop.time()
        await slots.enter("tiny", second)
        waited = loop.time() - start
        slots.leave(second)
        return waited

    assert 0.15 < asyncio.run(run()) < 2.0


def test_a_request_that_waits_too_long_gets_429_with_retry_after(module: ModuleType) -> None:
    from fastapi import HTTPException

    slots = module.ParallelSlots(Table(slots=1, seconds=0.1))

    async def run() -> HTTPException:
        await slots.enter("tiny", request())
        with pytest.raises(HTTPException) as refused:
            await slots.enter("tiny", request())
        return refused.value

    refusal = asyncio.run(run())
    assert refusal.status_code == 429
    assert refusal.headers == {"Retry-After": "1"}
    assert refusal.detail.startswith("model 'tiny' is busy: all 1 of this gateway process's")


def test_a_slot_is_given_back_exactly_once(module: ModuleType) -> None:
    slots = module.ParallelSlots(Table(slots=2, seconds=0.1))

    async def run() -> int:
        data = request()
        await slots.enter("tiny", data)
        slots.leave(data)
        slots.leave(data)  # the failure hook after the end of a stream: no second release
        return slots.models["tiny"].free._value  # type: ignore[no-any-return]

    assert asyncio.run(run()) == 2


def test_a_key_over_its_rpm_learns_when_its_minute_frees(module: ModuleType) -> None:
    from fastapi import HTTPException

    windows = module.KeyWindows()
    keys = {"ci": {"rpm": 2}}
    windows.admit(keys, "ci")
    windows.admit(keys, "ci")
    with pytest.raises(HTTPException) as refused:
        windows.admit(keys, "ci")
    assert refused.value.status_code == 429
    assert 59 <= int(refused.value.headers["Retry-After"]) <= 60
    windows.admit(keys, "other")  # keys without rpm, and other keys, are not counted
    windows.admit({}, None)


def test_the_table_divides_limits_among_the_processes(tmp_path: Path) -> None:
    from jarvis_config.render.routes import routing_table

    mesh = compile_mesh("ha-gateway")
    assert mesh.gateway.replicas == 2
    table = routing_table(mesh)
    declared = mesh.model("llama3-8b").limits.max_parallel_requests
    assert table["queues"]["llama3-8b"]["slots"] == declared // 2
