"""Stage 3, model: the stock LiteLLM proxy's production settings that this gateway renders.

LiteLLM's production advice, each kept only where it helps this gateway and was checked on
1.108.7 (docs/deploy.md, "Production settings", lists them with what each did when measured,
and the ones left out with why): its log level, the HTTP keep-alive of its server, the
spend-log batching and connection pool of its database, and the CPU and memory a gateway
container needs for its worker processes (one core per worker, LiteLLM's advice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jarvis_config.model.mesh import Gateway
from jarvis_config.model.processes import processes, worker_args

# LiteLLM's log level, read once at import (`litellm._logging`); its CLI also hands it to
# uvicorn, whose access log (one INFO line per request) it silences. Errors are still logged.
PROXY_ENV = (("LITELLM_LOG", "ERROR"),)
# uvicorn closes an idle kept-alive connection after 5 s by default, while load balancers keep
# theirs open longer (nginx upstream keepalive and most cloud balancers: 60 s). A request sent
# on a connection the proxy is closing fails; POST requests are not retried by nginx. The proxy
# keeps idle connections longer than the balancers in front of it.
KEEPALIVE_SECONDS = 75
# Spend logs and key spend go to the database in batches every N seconds (1.108.7's default
# is 10; LiteLLM's production advice 60): fewer writes, spend figures up to a minute late.
SPEND_BATCH_SECONDS = 60
# Each proxy process opens up to `database_connection_pool_limit` connections (default 10).
# The rendered Postgres keeps its default max_connections of 100; a fifth is left for
# migrations and an operator's psql, the rest shared among the gateway's processes.
DB_POOL_DEFAULT = 10
DB_CONNECTIONS = 80
# Memory per proxy process, with room to grow: measured resident on a one-node mesh after a
# minute of load, one worker 378 MiB; two workers 374 and 375 MiB, their supervisor (which
# imports LiteLLM too) 316 MiB and 12 MiB more. A large mesh needs more (10,000 deployments:
# 0.8 GB a process). The container's limit doubles its request.
WORKER_MEMORY_MIB = 512


@dataclass(frozen=True, slots=True)
class Resources:
    """What one gateway container asks of its host (CPUs in cores, memory in MiB)."""

    cpu_request: int
    cpu_limit: int
    memory_request_mib: int
    memory_limit_mib: int


def gateway_resources(gateway: Gateway) -> Resources:
    """One core per worker (LiteLLM's advice: a worker is one Python process, busy on one
    core at most), and one more core of limit for the supervising process and start-up, when
    every worker imports LiteLLM at once. Memory: a worker's share each, and one more for the
    supervisor (with one worker, the proxy's own headroom)."""
    memory = WORKER_MEMORY_MIB * (gateway.workers + 1)
    return Resources(
        cpu_request=gateway.workers,
        cpu_limit=gateway.workers + 1,
        memory_request_mib=memory,
        memory_limit_mib=2 * memory,
    )


def proxy_args(gateway: Gateway) -> tuple[str, ...]:
    """The proxy's command-line arguments after `--config` and `--port`."""
    return ("--keepalive_timeout", str(KEEPALIVE_SECONDS), *worker_args(gateway))


def database_settings(gateway: Gateway) -> dict[str, Any]:
    """general_settings for a gateway that keeps a database: batched spend writes, and a
    connection pool per process that keeps all processes within the database's connections."""
    if not gateway.database:
        return {}
    pool = max(1, min(DB_POOL_DEFAULT, DB_CONNECTIONS // processes(gateway)))
    return {"proxy_batch_write_at": SPEND_BATCH_SECONDS, "database_connection_pool_limit": pool}
