"""`doctor --probe-completions`: one tiny completion per model and node, sent straight to the
node's runtime, and through the gateway pinned to that node (`"node": NODE`) when one is given.

Problem code:
  completion-failed  error  a one-token completion for a model on a node failed
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from jarvis_config.live.compare import problem_at
from jarvis_config.live.gateway import GatewayCheck
from jarvis_config.live.http import NO_ANSWER, ProbeFailure, request_json
from jarvis_config.live.probes import Endpoint, Listing, find_served, in_parallel, placed_on
from jarvis_config.load import Document
from jarvis_config.model.mesh import Deployment, Mesh
from jarvis_config.problems import Problem

PROMPT = [{"role": "user", "content": "Reply with one word."}]


@dataclass(frozen=True)
class Attempt:
    deployment: Deployment
    source: str
    via: str  # "ollama at host:port" or "the gateway"
    send: Callable[[float], Any]


def probe_completions(
    mesh: Mesh,
    doc: Document,
    listings: Sequence[Listing],
    gateway: GatewayCheck | None,
    timeout: float,
) -> list[Problem]:
    attempts = _attempts(mesh, listings, gateway)
    deadline = time.monotonic() + timeout
    jobs = [partial(_outcome, a, deadline) for a in attempts]
    outcomes = in_parallel(jobs, deadline)
    problems = []
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        cause = NO_ANSWER if outcome is None else outcome
        if cause:
            problems.append(_failed(doc, attempt, cause))
    return problems


def _outcome(attempt: Attempt, deadline: float) -> str:
    """'' when the completion came back, else the cause in plain words."""
    try:
        attempt.send(deadline)
    except ProbeFailure as exc:
        return str(exc)
    return ""


def _attempts(
    mesh: Mesh, listings: Sequence[Listing], gateway: GatewayCheck | None
) -> list[Attempt]:
    attempts = []
    for listing in listings:
        if listing.error is not None:
            continue  # already reported as unreachable
        target = listing.target
        for d in placed_on(mesh, target):
            source = mesh.model(d.model).source
            if d.category == "embedding" or find_served(source, listing.models) is None:
                continue  # no chat model, or already reported as not served
            attempts.append(
                Attempt(d, source, f"{target.kind} at {target.endpoint}", _direct(target, source))
            )
            if gateway is not None:
                attempts.append(Attempt(d, source, "the gateway", _pinned(gateway, d)))
    return attempts


def _direct(target: Endpoint, source: str) -> Callable[[float], Any]:
    if target.kind == "ollama":
        body: dict[str, Any] = {
            "model": source,
            "messages": PROMPT,
            "stream": False,
            "options": {"num_predict": 1, "temperature": 0},
        }
        return lambda deadline: request_json(
            f"{target.base}/api/chat", deadline=deadline, body=body
        )
    body = {"model": source, "messages": PROMPT, "max_tokens": 1, "temperature": 0}
    url = f"{target.base}/v1/chat/completions"
    return lambda deadline: request_json(url, deadline=deadline, body=body, key=target.key)


def _pinned(gateway: GatewayCheck, deployment: Deployment) -> Callable[[float], Any]:
    body = {
        "model": deployment.model,
        "messages": PROMPT,
        "max_tokens": 1,
        "temperature": 0,
        "node": deployment.node,
    }
    url = f"{gateway.url}/v1/chat/completions"
    return lambda deadline: request_json(url, deadline=deadline, body=body, key=gateway.key)


def _failed(doc: Document, attempt: Attempt, cause: str) -> Problem:
    d = attempt.deployment
    return problem_at(
        doc,
        ("models", d.model),
        "completion-failed",
        f"model {d.model!r} on node {d.node!r}: a one-token completion through {attempt.via} "
        f"failed: {cause}",
        "check the runtime's log on that node; doctor without --probe-completions shows "
        "whether the model is listed at all",
    )
