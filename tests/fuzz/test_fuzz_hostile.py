"""Fuzzing the hostile classes: generated names, node addresses, provider URLs, numbers and
output-folder states. Each generator aims at one class of docs/hardening.md and checks the
guarantee it states: refused with FILE:LINE:COL problems, or built into files that say exactly
what the config said (no second host, no lost service, no float where an integer belongs, no
file touched outside OUT).

Profile: JARVIS_FUZZ_PROFILE=ci (default, bounded) | long (by hand) | smoke. See docs/hardening.md.
"""

from __future__ import annotations

import copy
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
import yaml
from fuzzkit import assert_clean_answer, fuzz_settings, no_hang
from hypothesis import event, given
from hypothesis import strategies as st

from jarvis_config.model.hosts import host_fault
from jarvis_config.write import MARKER, STAGING_STAMP, read_tree

# Slow, as every fuzz test (docs/hardening.md): outside the contributors' fast tier, CI runs it.
pytestmark = pytest.mark.slow

CliRunner = Callable[..., Any]
BASE: dict[str, Any] = {
    "version": 1,
    "nodes": {
        "n1": {"address": "10.0.0.1", "memory_gb": 64, "runtimes": {"ollama": {}, "vllm": {}}},
        "n2": {"address": "10.0.0.2", "runtimes": {"ollama": {}}},
    },
    "providers": {"up": {"kind": "openai-compatible", "api_base": "http://10.0.0.9:8080/v1"}},
    "models": {
        "m1": {"runtime": "ollama", "source": "m1", "placement": {"nodes": ["n1", "n2"]}},
        "m2": {"runtime": "vllm", "source": "org/m2", "placement": {"nodes": ["n1"]}},
        "hosted": {"provider": "up", "source": "gpt-x"},
    },
}


class _StrictLoader(yaml.SafeLoader):
    """Refuses duplicate mapping keys: a duplicate service is a service Docker drops."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        assert len(keys) == len(set(keys)), f"duplicate keys at {node.start_mark}"
        return super().construct_mapping(node, deep=deep)


def _build(cli: CliRunner, mesh: dict[str, Any], scratch: Path) -> dict[str, bytes] | None:
    """Build `mesh`; the files when it built, None when it was refused (cleanly)."""
    config = scratch / "jarvis.yaml"
    config.write_text(yaml.safe_dump(mesh, sort_keys=False, allow_unicode=True), "utf-8")
    out = scratch / "out"
    with no_hang():
        result = cli("build", config, "-o", out)
    assert_clean_answer(result, config)
    event(f"build exit {result.exit_code}")
    return read_tree(out) if result.exit_code == 0 else None


def _parsed(files: dict[str, bytes]) -> dict[str, Any]:
    """Each YAML or JSON file parsed; a Kubernetes file (several documents) as their list."""
    return {
        name: (
            list(yaml.load_all(content, Loader=_StrictLoader))
            if name.startswith("kubernetes/")
            else yaml.load(content, Loader=_StrictLoader)
        )
        for name, content in files.items()
        if name.endswith((".yaml", ".json"))
    }


def _deployments(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return list(_parsed(files)["litellm/config.yaml"]["model_list"])


# --- names ---------------------------------------------------------------------------------

PART = st.sampled_from(["a", "b", "vllm", "ollama", "pull", "llamacpp", "A", "gateway", "x.y"])
NAME = st.lists(PART, min_size=1, max_size=3).map("-".join)


@st.composite
def mesh_names(draw: st.DrawFn) -> tuple[list[str], list[str], bool]:
    """Two node names and two model names (Ollama, vLLM); half the time aimed at a Swarm
    service name collision: node X with vLLM model 'Y-ollama' against node 'X-vllm-Y'."""
    nodes = draw(st.lists(NAME, min_size=2, max_size=2, unique=True))
    models = draw(st.lists(NAME, min_size=2, max_size=2, unique=True))
    aimed = draw(st.booleans())
    if aimed:
        middle = draw(NAME)
        nodes[1], models[1] = f"{nodes[0]}-vllm-{middle}", f"{middle}-ollama"
        models[0] = models[0] if models[0] != models[1] else f"{models[0]}-1"
    return nodes, models, aimed


@given(names=mesh_names())
@fuzz_settings(50)
def test_generated_names_never_collide_silently(
    cli: CliRunner, names: tuple[list[str], list[str], bool]
) -> None:
    nodes, models, aimed = names
    mesh = copy.deepcopy(BASE)
    mesh["nodes"] = dict(zip(nodes, mesh["nodes"].values(), strict=True))
    ollama, vllm = mesh["models"]["m1"], mesh["models"]["m2"]
    ollama["placement"], vllm["placement"] = {"nodes": nodes}, {"nodes": nodes[:1]}
    mesh["models"] = {models[0]: ollama, models[1]: vllm, "hosted": mesh["models"]["hosted"]}
    with tempfile.TemporaryDirectory() as scratch:
        files = _build(cli, mesh, Path(scratch))
    if files is None:
        return
    assert not aimed, "a Swarm service name collision was built"
    services = _parsed(files)["compose/swarm/stack.yaml"]["services"]  # no duplicate keys
    folders = {name.split("/")[2] for name in files if name.startswith("compose/nodes/")}
    assert folders == set(nodes) and len({f.lower() for f in folders}) == len(folders)
    # gateway + n1's ollama, its pull and its vLLM server + n2's ollama and its pull
    assert len(services) == 6, sorted(services)


# --- addresses and URLs --------------------------------------------------------------------

HOSTILE = st.sampled_from([*"%@[]:/\\#?, \t\n\r\x00\x7f\u2028\u0085é", "%25", "::"])
HOST = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){0,2}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    st.ip_addresses(v=6).map(lambda ip: f"{ip}%eth0"),
)


@st.composite
def tampered(draw: st.DrawFn, text: str) -> str:
    """`text`, or it with a hostile character inserted somewhere."""
    if not draw(st.booleans()):
        return text
    where = draw(st.integers(0, len(text)))
    return text[:where] + draw(HOSTILE) + text[where:]


@given(address=HOST.flatmap(tampered))
@fuzz_settings(60)
def test_an_accepted_address_is_the_only_host_of_its_urls(cli: CliRunner, address: str) -> None:
    mesh = copy.deepcopy(BASE)
    mesh["nodes"]["n2"]["address"] = address
    with tempfile.TemporaryDirectory() as scratch:
        files = _build(cli, mesh, Path(scratch))
    if files is None:
        return
    event("address accepted")
    assert host_fault(address) is None
    bases = [d["litellm_params"]["api_base"] for d in _deployments(files)]
    on_n2 = [b for b in bases if urlsplit(b).port == 11434 and "10.0.0.1" not in b]
    assert on_n2, bases
    for base in on_n2:
        assert all(ch.isprintable() and not ch.isspace() for ch in base), base
        assert urlsplit(base).hostname == address.strip("[]").lower()


URL = st.builds(
    "{}://{}{}{}{}{}".format,
    st.sampled_from(["http", "https", "ftp"]),
    st.sampled_from(["", "user@", "user:pw@", "sk-0123456789abcdefghij@"]),
    HOST,
    st.sampled_from(["", ":8080", ":65536", ":-1", ":x"]),
    st.sampled_from(["", "/v1", "/v1/sk-0123456789abcdefghijklmn", "/a b"]),
    st.sampled_from(["", "?a=b", "?token=t", "?x=sk-0123456789abcdefghijkl", "#frag"]),
)


@given(url=URL.flatmap(tampered))
@fuzz_settings(80)
def test_an_accepted_provider_url_is_rendered_as_given_and_carries_no_secret(
    cli: CliRunner, url: str
) -> None:
    mesh = copy.deepcopy(BASE)
    mesh["providers"]["up"]["api_base"] = url
    with tempfile.TemporaryDirectory() as scratch:
        files = _build(cli, mesh, Path(scratch))
    if files is None:
        return
    event("url accepted")
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and not parts.username and not parts.password
    assert host_fault(parts.hostname or "") is None or parts.netloc.startswith("[")
    assert "sk-0123456789abcdefghij" not in url and "token=" not in url
    hosted = [d for d in _deployments(files) if d["model_name"] == "hosted"]
    assert [d["litellm_params"]["api_base"] for d in hosted] == [url]


# --- numbers -------------------------------------------------------------------------------

NUMBER_FIELDS: dict[str, tuple[str, ...]] = {
    "node memory": ("nodes", "n1", "memory_gb"),
    "model memory": ("models", "m2", "memory_gb"),
    "runtime port": ("nodes", "n1", "runtimes", "vllm", "port"),
    "context window": ("models", "m1", "context_window"),
    "temperature": ("models", "m1", "params", "temperature"),
    "gateway port": ("gateway", "port"),
}
NUMBER = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(0, 70000),
    st.integers(0, 70000).map(float),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([65535, 65534, 8000.0, 1e300, -0.0, 2**53 + 1, 0.5]),
)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


@given(field=st.sampled_from(sorted(NUMBER_FIELDS)), value=NUMBER)
@fuzz_settings(60)
def test_numbers_are_refused_or_rendered_as_integers_in_range(
    cli: CliRunner, field: str, value: int | float
) -> None:
    mesh = copy.deepcopy(BASE)
    _set(mesh, NUMBER_FIELDS[field], value)
    with tempfile.TemporaryDirectory() as scratch:
        files = _build(cli, mesh, Path(scratch))
    if files is None:
        return
    event(f"{field} accepted")
    for name, parsed in _parsed(files).items():
        if "compose" in name:
            for service in parsed.get("services", {}).values():
                for mapping in service.get("ports", []):
                    spec = mapping if isinstance(mapping, dict) else {"p": mapping}
                    for part in str(spec.get("published", spec.get("p"))).split(":"):
                        assert 0 < int(part) <= 65535, (name, mapping)
    for deployment in _deployments(files):
        window = deployment.get("model_info", {}).get("max_input_tokens")
        assert window is None or type(window) is int


# --- output-folder states ------------------------------------------------------------------

OUT_STATES = ["missing", "empty", "built", "foreign", "link", "dangling", "file", "fifo"]
SIBLINGS = ["none", "look-alike", "stamped-elsewhere", "dot-old"]


def _snapshot(root: Path, skip: Path) -> dict[str, Any]:
    """Every entry below `root` except `skip`, without following links."""
    seen: dict[str, Any] = {}
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(folder) / name
            if path == skip or skip in path.parents:
                continue
            mode = path.lstat().st_mode
            seen[str(path.relative_to(root))] = (
                os.readlink(path)
                if stat.S_ISLNK(mode)
                else path.read_bytes()
                if stat.S_ISREG(mode)
                else stat.S_IFMT(mode)
            )
    return seen


def _prepare(root: Path, state: str, sibling: str, cli: CliRunner, config: Path) -> Path:
    out = root / "out"
    target = root / "target"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    if state == "empty":
        out.mkdir()
    elif state == "built":
        assert cli("build", config, "-o", out).exit_code == 0
    elif state == "foreign":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    elif state in ("link", "dangling"):
        out.symlink_to(target if state == "link" else root / "nowhere")
    elif state == "file":
        out.write_text("a file")
    elif state == "fifo":
        os.mkfifo(out)
    if sibling != "none":
        name = {"look-alike": ".out.abcdefgh.new", "stamped-elsewhere": ".out.k1.new"}
        folder = root / name.get(sibling, ".out.old")
        folder.mkdir()
        (folder / STAGING_STAMP).write_bytes(b"jarvis-config staging for /elsewhere/out\n")
        os.utime(folder, (0, 0))
    return out


def _assert_one_error_line(result: Any) -> None:
    """A valid config: success, or one `error: ...` line naming why OUT was refused."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    assert result.exit_code in (0, 1), output
    if result.exit_code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), output


@given(state=st.sampled_from(OUT_STATES), sibling=st.sampled_from(SIBLINGS), force=st.booleans())
@fuzz_settings(40)
def test_build_into_any_out_state_touches_nothing_but_out(
    cli: CliRunner, state: str, sibling: str, force: bool
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        config = root / "cfg" / "jarvis.yaml"
        config.parent.mkdir()
        config.write_text(yaml.safe_dump(BASE), "utf-8")
        out = _prepare(root, state, sibling, cli, config)
        before = _snapshot(root, out)
        out_before = _snapshot(root, root / "never") if state in ("link", "dangling") else None
        with no_hang():
            result = cli("build", config, "-o", out, *(["--force"] if force else []))
        _assert_one_error_line(result)
        event(f"{state}: exit {result.exit_code}")
        assert _snapshot(root, out) == before, "something beside OUT changed"
        refused = state in ("link", "dangling", "file", "fifo") or (
            state == "foreign" and not force
        )
        assert result.exit_code == (1 if refused else 0), result.stderr
        if refused and out_before is not None:
            assert _snapshot(root, root / "never") == out_before
        if not refused:
            assert not out.is_symlink() and (out / MARKER).is_file()
