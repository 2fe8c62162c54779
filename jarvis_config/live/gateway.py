"""The gateway check: is the stock LiteLLM proxy ready, and is it running what `build`
renders from this mesh?

Seen on LiteLLM 1.108.7: `/health/readiness` answers without a key; `/v1/models` lists the
loaded model groups and aliases; `/router/settings` returns the `router_settings` of the
proxy's config file (routing groups with every deployment id, fallbacks, aliases, strategy);
`/model/info` returns loaded deployments with their `model_info.id`, provider model and
api_base (secrets removed). Each difference from the rendered config is one problem.

Problem codes:
  gateway-unreachable     error  the gateway does not answer /health/readiness as ready
  gateway-auth-failed     error  the gateway refused the key (or no key is set)
  gateway-config-differs  error  the gateway serves another config than the build renders
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from jarvis_config.live.compare import problem_at
from jarvis_config.live.http import ProbeFailure, request_json
from jarvis_config.load import Document
from jarvis_config.model.mesh import Mesh
from jarvis_config.problems import Problem

REDEPLOY = "rebuild (jarvis-config build) and restart the gateway with the new config"
GATEWAY: tuple[str] = ("gateway",)


@dataclass(frozen=True)
class GatewayCheck:
    url: str
    key: str | None = field(repr=False)  # never in a repr, a log or a message
    key_var: str  # where the key came from, named in messages (never the key itself)
    deadline: float


def check_gateway(
    mesh: Mesh, doc: Document, check: GatewayCheck, rendered: Mapping[str, bytes]
) -> list[Problem]:
    config = yaml.safe_load(rendered["litellm/config.yaml"]) or {}
    try:
        _ready(check)
        if not check.key:
            return [_auth(doc, check, "no key is set")]
        listed = _get(check, "/v1/models")
        settings = _get(check, "/router/settings")
        deployments = _get(check, "/model/info")
    except _Refused as exc:
        return [_auth(doc, check, str(exc))]
    except ProbeFailure as exc:
        return [unreachable(doc, check, str(exc))]
    try:
        found = [
            *_listed(mesh, listed, rendered),
            *_settings(config, settings),
            *_deployments(config, deployments),
        ]
    except (TypeError, AttributeError, KeyError, ValueError, IndexError):
        # Answers of a shape no LiteLLM proxy gives (`/v1/models` of `[1]`): said plainly.
        return [unreachable(doc, check, "its answers do not have the shape a LiteLLM proxy gives")]
    return [_differs(doc, text) for text in found]


def unreachable(doc: Document, check: GatewayCheck, cause: str) -> Problem:
    return problem_at(
        doc,
        GATEWAY,
        "gateway-unreachable",
        f"the gateway at {check.url} is not ready: {cause}",
        "start the gateway, or pass the URL it listens on to --gateway",
    )


class _Refused(Exception):
    """The gateway answered, but refused the key."""


def _ready(check: GatewayCheck) -> None:
    reply = request_json(f"{check.url}/health/readiness", deadline=check.deadline)
    if not isinstance(reply, dict) or reply.get("status") != "healthy":
        status = reply.get("status") if isinstance(reply, dict) else None
        raise ProbeFailure(f"its readiness status is {status or 'unknown'}")


def _get(check: GatewayCheck, path: str) -> Any:
    try:
        return request_json(f"{check.url}{path}", deadline=check.deadline, key=check.key)
    except ProbeFailure as exc:
        # 1.108.7 answers a wrong key with 400 or 401 when it has no database.
        if exc.status in (400, 401, 403):
            raise _Refused(str(exc)) from None
        raise


def _auth(doc: Document, check: GatewayCheck, cause: str) -> Problem:
    return problem_at(
        doc,
        GATEWAY,
        "gateway-auth-failed",
        f"the gateway at {check.url} refused the key from {check.key_var}: {cause}",
        f"set {check.key_var} to the gateway's master key, or name another variable "
        "with --gateway-key-env",
    )


def _differs(doc: Document, text: str) -> Problem:
    return problem_at(doc, GATEWAY, "gateway-config-differs", text, REDEPLOY)


def _listed(mesh: Mesh, reply: Any, rendered: Mapping[str, bytes]) -> Iterator[str]:
    listed = {str(m.get("id")) for m in (reply or {}).get("data", []) if isinstance(m, dict)}
    expected = {m.name for m in mesh.models if mesh.deployments_of(m.name)}
    expected |= {a.name for a in mesh.aliases if a.target in expected}
    if mesh.routing.list_pinned_models:  # the callback lists the node and role groups too
        groups = json.loads(rendered["litellm/routes.json"])["groups"]
        expected |= {name for name, group in groups.items() if group["kind"] in ("node", "role")}
    for name in sorted(expected - listed):
        yield f"the gateway does not list model {name!r}, which the build serves"
    for name in sorted(listed - expected):
        yield f"the gateway lists model {name!r}, which the build does not serve"


def _settings(config: Mapping[str, Any], reply: Any) -> Iterator[str]:
    current = (reply or {}).get("current_values") if isinstance(reply, dict) else None
    current = current if isinstance(current, dict) else {}
    for key, value in sorted((config.get("router_settings") or {}).items()):
        if _canonical(current.get(key)) != _canonical(value):
            yield f"the gateway's router_settings.{key} differs from the build's"


def _deployments(config: Mapping[str, Any], reply: Any) -> Iterator[str]:
    rendered = {
        str(entry["model_info"]["id"]): entry["litellm_params"]
        for entry in config.get("model_list") or []
    }
    seen: set[str] = set()
    for entry in (reply or {}).get("data", []) if isinstance(reply, dict) else []:
        ident = str((entry.get("model_info") or {}).get("id"))
        if ident in seen:
            continue  # 1.108.7 lists a deployment again under each alias of its group
        seen.add(ident)
        params = entry.get("litellm_params") or {}
        if ident not in rendered:
            yield f"the gateway runs deployment {ident!r}, which the build does not render"
            continue
        for name in ("model", "api_base"):
            if params.get(name) != rendered[ident].get(name):
                yield (
                    f"deployment {ident!r}: the gateway has {name} {params.get(name)}, "
                    f"the build renders {rendered[ident].get(name)}"
                )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
