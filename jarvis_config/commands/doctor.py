"""`jarvis-config doctor`: compare the mesh with what runs: every node's runtimes, and the
gateway when asked. Problems print in the formats `validate` uses; exit 1 on an error."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import cast

from jarvis_config import pipeline
from jarvis_config.commands.common import compile_or_fail, report
from jarvis_config.errors import CommandError
from jarvis_config.live.compare import compare
from jarvis_config.live.completions import probe_completions
from jarvis_config.live.gateway import GatewayCheck, check_gateway, unreachable
from jarvis_config.live.http import NO_ANSWER
from jarvis_config.live.probes import DEFAULT_TIMEOUT, Listing, in_parallel, mesh_targets, probe_all
from jarvis_config.load import Document
from jarvis_config.model.mesh import Mesh
from jarvis_config.outcome import echo
from jarvis_config.problems import Problem, Severity, has_errors
from jarvis_config.wording import did_you_mean

DEFAULT_KEY_ENV = "JARVIS_MASTER_KEY"


@dataclass(frozen=True)
class DoctorOptions:
    path: Path
    node: str | None = None
    gateway: str | None = None
    gateway_key_env: str | None = None
    probe_completions: bool = False
    timeout: float = DEFAULT_TIMEOUT
    fmt: str = "text"


def doctor(options: DoctorOptions) -> int:
    """0 when the running mesh matches the config, 1 on drift or anything down."""
    valid = compile_or_fail(options.path, fmt=options.fmt)
    mesh, doc = valid.mesh, valid.document
    if options.node is not None and options.node not in {n.name for n in mesh.nodes}:
        names = [n.name for n in mesh.nodes]
        raise CommandError(
            f"node {options.node!r} is not in the mesh{did_you_mean(options.node, names)};"
            f" its nodes: {', '.join(names) or 'none'}"
        )
    problems = _diagnose(options, mesh, doc)
    report(problems, options.fmt)
    if options.fmt == "text":
        echo(_summary(problems), err=has_errors(problems))
    return 1 if has_errors(problems) else 0


def _diagnose(options: DoctorOptions, mesh: Mesh, doc: Document) -> list[Problem]:
    """The runtimes and the gateway are asked at the same time, within one timeout; the
    completions (which need the listings) follow, within another."""
    targets = mesh_targets(mesh, options.node, os.environ)
    gateway = _gateway_check(options, mesh)
    jobs: list[Callable[[], list[Listing] | list[Problem]]] = [
        partial(probe_all, targets, options.timeout)
    ]
    if gateway is not None:
        jobs.append(partial(check_gateway, mesh, doc, gateway, pipeline.render(mesh, ["litellm"])))
    # Both jobs bound themselves by the timeout; the margin only covers thread scheduling.
    answers = in_parallel(jobs, time.monotonic() + options.timeout + 1.0)
    listings = cast("list[Listing] | None", answers[0])
    if listings is None:
        listings = [Listing(t, error=NO_ANSWER) for t in targets]
    problems = compare(mesh, doc, listings)
    if gateway is not None:
        found = cast("list[Problem] | None", answers[1])
        problems += [unreachable(doc, gateway, NO_ANSWER)] if found is None else found
    if options.probe_completions:
        problems += probe_completions(mesh, doc, listings, gateway, options.timeout)
    return sorted(problems)


def _gateway_check(options: DoctorOptions, mesh: Mesh) -> GatewayCheck | None:
    if options.gateway is None:
        return None
    ref = mesh.gateway.master_key
    var = options.gateway_key_env or (ref.var if ref else DEFAULT_KEY_ENV)
    return GatewayCheck(
        url=options.gateway.rstrip("/"),
        key=os.environ.get(var) or None,
        key_var=var,
        deadline=time.monotonic() + options.timeout,
    )


def _summary(problems: list[Problem]) -> str:
    counts = {s: sum(1 for p in problems if p.severity is s) for s in Severity}
    verdict = "drift or faults found" if has_errors(problems) else "the mesh runs as configured"
    parts = [f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items()]
    return f"doctor: {verdict}: {', '.join(parts)}"
