"""Stage 2c, hostile values: rules against configs written to leak, inject or overflow.

Each rule closes one class of attack on the rendered files: URLs whose host is not what it
seems, secrets hidden in URLs, environment references the proxy or compose would resolve where
no secret belongs, numbers that overflow or lose their integer meaning, compromised LiteLLM
releases named in an image tag, and generated names that collide. They run after the semantic
rules (`check_hostile`, over `RULES`) and on the built mesh (`check_hostile_mesh`, over
`MESH_RULES`), reading the data defensively as those do; each declares its codes with `@emits`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from jarvis_config.load import Document
from jarvis_config.model.catalog import COMPROMISED_LITELLM_VERSIONS, DEFAULT_LITELLM_VERSION
from jarvis_config.model.hosts import host_fault
from jarvis_config.model.mesh import Mesh
from jarvis_config.model.names import collisions, compose_claims
from jarvis_config.problems import PathParts, Problem, Severity, json_path
from jarvis_config.validate.codes import emits
from jarvis_config.validate.schema import subject
from jarvis_config.validate.semantics import (
    TEXT_FIELDS,
    TOKEN_LIKE,
    View,
    _has_credentials,
    _is_secret_path,
    _problem,
    _walk,
    env_ref_not_supported,
)

# Numbers beyond 2**53 lose precision in JSON readers and overflow derived values.
MAX_MAGNITUDE = 2**53
MAX_PORT = 65535
# Size budgets: a few kilobytes of roles can place every model on every node, and each node is
# a compose file. The benchmarks build 20,000 deployments in about 3.5 s (0.2 GB); the cap is
# 50,000.
MAX_NODES = 5_000
MAX_DEPLOYMENTS = 50_000
SECRET_WORDS = re.compile(r"key|token|secret|passw|auth|sig|credential", re.IGNORECASE)
# A long mix of letters and digits in a URL path: the shape of an API key, not of a route.
KEY_SHAPED = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_-]{32,}$")
# A provider token anywhere inside a URL's query value or path segment, whatever surrounds it
# ("sk-...%kl", "token=sk-...&"): the literal-secret shapes, unanchored.
TOKEN_INSIDE = re.compile(r"(?<![A-Za-z0-9])" + TOKEN_LIKE.pattern.strip("^$"))
# 1.82.7 or 1.82.8 anywhere in an image tag (main-v1.82.7, v1.82.8-stable, 1.82.07...), and
# a pin that pip reads as one of them (1.82.07, 1.82.7.0, 1.82.7+local).
COMPROMISED = r"v?0*1\.0*82\.0*[78](?![0-9])"
COMPROMISED_TAG = re.compile(r"(?<![0-9.])" + COMPROMISED)
COMPROMISED_PIN = re.compile(COMPROMISED, re.IGNORECASE)


def check_hostile(doc: Document, *, environ: Mapping[str, str]) -> list[Problem]:
    """Every hostile-value problem of the document, sorted."""
    view, walk = View(doc, environ), Walk.of(doc.data)
    return sorted({problem for rule in RULES for problem in rule(view, walk)})


Strings = list[tuple[PathParts, str]]  # every string outside the secret fields, with its path


@dataclass(frozen=True, slots=True)
class Walk:
    """The document's values with their paths, walked once: large meshes hold many values."""

    values: list[tuple[PathParts, Any]]
    strings: Strings

    @classmethod
    def of(cls, data: Any) -> Walk:
        values = list(_walk(data))
        strings = [
            (path, value)
            for path, value in values
            if isinstance(value, str) and path and not _is_secret_path(path)
        ]
        return cls(values, strings)


# --- URLs ----------------------------------------------------------------------------------


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    return parts


def url_fault(url: str) -> str | None:
    """Why `url` is not a plain http(s) URL of a real host, or None."""
    if any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in url):
        return "holds whitespace, a control character or a backslash"
    parts = _split(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return "is not a valid http:// or https:// URL"
    if "@" in parts.netloc:
        return None  # userinfo: url_secrets reports it
    if "@" in url.split(parts.netloc, 1)[1]:
        return "holds '@' after the host, where a reader would take what precedes it for a login"
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    fault = host_fault(host, in_url=True)
    return None if fault is None else f"names a host that {fault}"


@emits("bad-url")
def url_shape(view: View, walk: Walk) -> Iterator[Problem]:
    """api_base values must parse strictly: what the proxy connects to is what a reader sees."""
    for path, value in walk.strings:
        if path[-1] != "api_base" or "${" in value:
            continue
        fault = url_fault(value)
        if fault is not None:
            yield _problem(
                view.doc.locate(path),
                "bad-url",
                f"{subject(path)} {fault}",
                path,
                "write http(s)://HOST[:PORT][/PATH] with a host name, an IPv4 address or "
                "a bracketed IPv6 address without a zone id",
            )


def url_secret(url: str) -> str | None:
    """Where a URL carries a credential (user name, password, query, key-shaped segment)."""
    parts = _split(url)
    if parts is None or not parts.scheme.startswith("http") or _has_credentials(url):
        return None  # not a URL, or already reported as literal-secret
    if parts.username or parts.password or "@" in parts.netloc:
        return "a user name or password"
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if SECRET_WORDS.search(name) or TOKEN_INSIDE.search(value) or KEY_SHAPED.match(value):
            return f"the query parameter {name!r}"
    for segment in parts.path.split("/"):
        if TOKEN_INSIDE.search(segment) or KEY_SHAPED.match(segment):
            return "a path segment that looks like a key"
    return None


@emits("secret-in-url")
def url_secrets(view: View, walk: Walk) -> Iterator[Problem]:
    for path, value in walk.strings:
        where = url_secret(value.strip()) if "://" in value else None
        if where is not None:
            yield _problem(
                view.doc.locate(path),
                "secret-in-url",
                f"{subject(path)} carries {where}, which looks like a credential",
                path,
                "put the key in the provider's api_key as ${VAR}; the URL ends up in git, "
                "in the rendered files and in logs",
            )


# --- environment references ------------------------------------------------------------------


@emits("litellm-env-ref")
def litellm_env_refs(view: View, walk: Walk) -> Iterator[Problem]:
    """The proxy replaces any string starting with os.environ/ by that variable at start-up:
    outside a secret field that would send the secret wherever the value goes."""
    for path, value in walk.strings:
        if "os.environ/" in value:
            yield _problem(
                view.doc.locate(path),
                "litellm-env-ref",
                f"{subject(path)} holds 'os.environ/', which the LiteLLM proxy would "
                "replace with the value of that environment variable",
                path,
                "only master_key and api_key read the environment, written ${VAR}",
            )


@emits("env-ref-not-supported")
def stray_env_refs(view: View, walk: Walk) -> Iterator[Problem]:
    """${...} where the tool does not interpolate (the text fields have their own rule)."""
    for path, value in walk.strings:
        if "${" in value and path[-1] not in TEXT_FIELDS and "os.environ/" not in value:
            yield env_ref_not_supported(view.doc, path)


# --- numbers and releases --------------------------------------------------------------------


@emits("number-too-large")
def huge_numbers(view: View, walk: Walk) -> Iterator[Problem]:
    for path, value in walk.values:
        if _is_number(value) and abs(value) > MAX_MAGNITUDE:
            yield _problem(
                view.doc.locate(path),
                "number-too-large",
                f"{subject(path) if path else 'the value'} is {value:.6g}, beyond "
                f"±{MAX_MAGNITUDE} (2**53)",
                path,
                "no setting of a mesh needs a number this large",
            )


@emits("mesh-too-large")
def mesh_size(view: View, walk: Walk) -> Iterator[Problem]:
    """Bound the build: the number of nodes, and of deployments (models on nodes) counted
    before any is made, stopping as soon as the budget is passed."""
    nodes = view.entries("nodes")
    if len(nodes) > MAX_NODES:
        yield _too_large(view, ("nodes",), f"{len(nodes)} nodes, more than {MAX_NODES}")
        return
    having: dict[str, set[str]] = {}
    for node in nodes:
        for role in view.roles(node):
            having.setdefault(role, set()).add(node)
    total = 0
    for model, spec in view.entries("models").items():
        total += _deployment_count(spec, having)
        if total > MAX_DEPLOYMENTS:
            message = f"more than {MAX_DEPLOYMENTS} deployments (models placed on nodes)"
            yield _too_large(view, ("models", model), message)
            return


def _deployment_count(spec: dict[str, Any], having: dict[str, set[str]]) -> int:
    """At most how many deployments a model makes (1 for a hosted one)."""
    placement = spec.get("placement")
    if not isinstance(placement, dict):
        return 1
    listed = placement.get("nodes") or []
    roles = placement.get("roles") or []
    count = len(listed) if isinstance(listed, list) else 0
    if isinstance(roles, list):
        count += len(set().union(*(having.get(r, set()) for r in roles if isinstance(r, str))))
    return count


def _too_large(view: View, path: PathParts, what: str) -> Problem:
    return _problem(
        view.doc.locate_key(path),
        "mesh-too-large",
        f"the mesh has {what}; building it would take too long and too much memory",
        path,
        "split it into several meshes, or place models on fewer nodes",
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@emits("compromised-litellm")
def compromised_pins(view: View, walk: Walk) -> Iterator[Problem]:
    """1.82.7 and 1.82.8 in any image tag, or pinned in a spelling pip reads as one."""
    for path, value in walk.strings:
        if path == ("gateway", "litellm_version"):
            # compromised_litellm (semantics) reports the plain spelling itself.
            plain = value.strip().lstrip("vV") in COMPROMISED_LITELLM_VERSIONS
            hit = not plain and COMPROMISED_PIN.match(value.strip()) is not None
        else:
            hit = _names_compromised(path, value)
        if hit:
            yield _problem(
                view.doc.locate(path),
                "compromised-litellm",
                f"{subject(path)} {value!r} names a known-compromised LiteLLM release",
                path,
                f"use {DEFAULT_LITELLM_VERSION}, the release this tool is tested with",
            )


@emits("untested-litellm")
def untested_litellm(view: View, walk: Walk) -> Iterator[Problem]:
    """A warning for a release other than the tested one (a compromised one is an error)."""
    version = view.section("gateway").get("litellm_version")
    if not isinstance(version, str) or version == DEFAULT_LITELLM_VERSION:
        return
    if COMPROMISED_PIN.match(version.strip()) is not None:
        return
    path = ("gateway", "litellm_version")
    yield Problem(
        view.doc.locate(path),
        "untested-litellm",
        f"LiteLLM {version} is not the release this tool is tested with"
        f" ({DEFAULT_LITELLM_VERSION}); the gateway may not behave as documented",
        json_path(path),
        f"pin {DEFAULT_LITELLM_VERSION}, or check the gateway with jarvis-config doctor --gateway",
        Severity.WARNING,
    )


def _names_compromised(path: PathParts, value: str) -> bool:
    if path[-1] != "image":
        return False
    tag = value.split("@", 1)[0].rsplit("/", 1)[-1]
    return ":" in tag and COMPROMISED_TAG.search(tag.split(":", 1)[1]) is not None


# --- on the built mesh -----------------------------------------------------------------------


def check_hostile_mesh(mesh: Mesh, doc: Document) -> list[Problem]:
    return sorted({problem for rule in MESH_RULES for problem in rule(mesh, doc)})


@emits("derived-port-out-of-range")
def derived_ports(mesh: Mesh, doc: Document) -> Iterator[Problem]:
    """Ports computed from a runtime's port (one per model) must stay valid ports."""
    for d in mesh.deployments:
        if d.port is not None and d.node is not None and d.port > MAX_PORT:
            path: PathParts = ("nodes", d.node, "runtimes", str(d.runtime))
            yield _problem(
                doc.locate_key(path),
                "derived-port-out-of-range",
                f"model {d.model!r} on node {d.node!r} would be served on port {d.port}, "
                f"above {MAX_PORT}",
                path,
                f"{d.runtime} runs one server per model on consecutive ports; "
                "lower the runtime's port",
            )


@emits("name-collision")
def name_collisions(mesh: Mesh, doc: Document) -> Iterator[Problem]:
    """Generated identifiers must be unique across the mesh: both sources are named."""
    for first, second in collisions(compose_claims(mesh)):
        same = (
            f"name {second.identifier!r}"
            if first.identifier == second.identifier
            else f"names {second.identifier!r} and {first.identifier!r}, one name where "
            "letter case does not count"
        )
        yield _problem(
            doc.locate_key(second.path),
            "name-collision",
            f"{second.source} and {first.source} both generate the {first.kind} {same}",
            second.path,
            "rename one of them so the generated names differ",
        )


Rule = Callable[[View, Walk], Iterator[Problem]]
MeshRule = Callable[[Mesh, Document], Iterator[Problem]]
RULES: tuple[Rule, ...] = (
    url_shape,
    url_secrets,
    litellm_env_refs,
    stray_env_refs,
    compromised_pins,
    untested_litellm,
    huge_numbers,
    mesh_size,
)
MESH_RULES: tuple[MeshRule, ...] = (derived_ports, name_collisions)
