"""Stage 3, model: how the gateway's processes share the limits the mesh declares.

The gateway runs `workers` proxy processes in each of its `replicas`. The stock LiteLLM proxy
counts a deployment's `max_parallel_requests` in each process alone (and a key's limits are
not shared either unless its usage cache is backed by Redis), so a limit written into every
process unchanged would let `processes x limit` requests through. The compiler keeps each
promise by giving every process an equal share: the declared limit divided by the number of
processes, rounded down, so that the sum over all processes never exceeds it. Validation
refuses a limit smaller than the number of processes (a share of 0 would refuse everything).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple, TypeVar

from jarvis_config.model.mesh import API_KEY_LIMITS, ApiKey, Gateway, Limits, Mesh, Routing

# How long a request over a model's max_parallel_requests waits for a free slot before it is
# answered 429. Measured (docs/deploy.md, "Workers and limits"): a burst of 4x a model's
# parallel limit on 1 s answers needs 3 s of waiting; 30 s covers bursts of many times the
# limit on answers of several seconds, and stays under the gateway's 45 s answer timeout.
DEFAULT_QUEUE_SECONDS = 30.0
MODEL_LIMITS = ("max_parallel_requests", "rpm", "tpm")  # the divided fields of Limits
KEY_LIMITS = API_KEY_LIMITS


class LimitShare(NamedTuple):
    """One declared limit and the share of it each gateway process enforces."""

    kind: str  # "model" or "key"
    name: str
    field: str
    declared: int
    per_process: int

    @property
    def owner(self) -> str:
        return f"{self.kind} {self.name!r}"

    @property
    def path(self) -> tuple[str, ...]:
        """Where the limit is declared in the config."""
        if self.kind == "model":
            return ("models", self.name, "limits", self.field)
        return ("gateway", "keys", self.name, self.field)


_Limited = TypeVar("_Limited", Limits, ApiKey)


def processes(gateway: Gateway) -> int:
    """How many proxy processes serve the gateway: workers in each of its replicas."""
    return gateway.workers * gateway.replicas


def shares_router_state(gateway: Gateway) -> bool:
    """Whether the gateway runs more than one proxy process, which then share their router
    state (cooldowns, health, usage counters) through Redis: without it each process would
    keep sending its own share of requests to a node another process has found frozen."""
    return processes(gateway) > 1


def share(limit: int | None, count: int) -> int | None:
    """Each process's share of `limit` (None: no limit). Rounded down so the shares never
    add up to more than declared; at least 1 (validation refuses a smaller limit)."""
    if limit is None:
        return None
    return max(1, limit // count)


def shared_limits(limits: Limits, count: int) -> Limits:
    """A model's limits as each process enforces them (timeouts and queue time unchanged)."""
    return _divided(limits, count)


def shared_key(key: ApiKey, count: int) -> ApiKey:
    """A client key's limits as each process enforces them."""
    return _divided(key, count)


def _divided(record: _Limited, count: int) -> _Limited:
    """`record` with its rpm, tpm and parallel limit each divided among `count` processes."""
    return replace(
        record,
        rpm=share(record.rpm, count),
        tpm=share(record.tpm, count),
        max_parallel_requests=share(record.max_parallel_requests, count),
    )


def queue_seconds(limits: Limits) -> float:
    return DEFAULT_QUEUE_SECONDS if limits.queue_seconds is None else limits.queue_seconds


def hold_seconds(limits: Limits, routing: Routing) -> float:
    """The longest a non-streamed request can hold a parallel slot: its answer timeout for
    each try. The callback frees a slot held longer (its release was missed) as a backstop."""
    timeout = routing.timeout if limits.timeout is None else limits.timeout
    return timeout * (1 + routing.num_retries)


def limit_shares(mesh: Mesh) -> list[LimitShare]:
    """Every declared limit with its per-process share, models first, for `explain`."""
    count = processes(mesh.gateway)
    found = [
        LimitShare("model", model.name, name, value, max(1, value // count))
        for model in mesh.models
        for name in MODEL_LIMITS
        if (value := getattr(model.limits, name)) is not None
    ]
    found.extend(
        LimitShare("key", key.name, name, value, max(1, value // count))
        for key in mesh.gateway.keys
        for name in KEY_LIMITS
        if (value := getattr(key, name)) is not None
    )
    return found


# uvicorn (under `--num_workers`) kills and restarts a worker that does not answer its parent's
# ping within 5 s; a worker importing LiteLLM on a busy host misses that, so workers were
# restarted in a loop and the gateway never came up (seen on 2 busy cores, where a worker took
# 88 s to start). 60 s keeps a hung worker's restart bounded.
WORKER_HEALTHCHECK_SECONDS = 60


def worker_args(gateway: Gateway) -> tuple[str, ...]:
    """The proxy's command-line arguments for its worker processes. One worker is LiteLLM's
    own default, so it needs none (and the commands of existing gateways stay as they were)."""
    if gateway.workers == 1:
        return ()
    return (
        "--num_workers",
        str(gateway.workers),
        "--timeout_worker_healthcheck",
        str(WORKER_HEALTHCHECK_SECONDS),
    )
