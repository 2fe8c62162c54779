"""Each output format's own expansion syntax: a value from the mesh reaches every file as
written, whatever `$`, `$(...)`, `${...}` or `os.environ/` it holds. One test per format,
each reading the file as its real reader does (docker-compose, the kubelet's expansion rules,
LiteLLM's own config loader, a shell's word splitting, nginx's tokens)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.errors import RenderError
from jarvis_config.load import load_text
from jarvis_config.model.mesh import build_mesh
from jarvis_config.render import expansion

SENTINEL = "sentinel-7f3a9c"
# Every expansion syntax of every format, around the names of the variables the containers and
# the gateway hold (HF_TOKEN is a Secret in the vLLM pod, VLLM_API_KEY the runtime's key).
SOURCES = [
    pytest.param("org/m$(HF_TOKEN)", id="kubernetes-ref"),
    pytest.param("org/m$(VLLM_API_KEY)$(OLLAMA_HOST)", id="kubernetes-refs"),
    pytest.param("org/m$$(HF_TOKEN)", id="kubernetes-escaped-ref"),
    pytest.param("org/m${HF_TOKEN}", id="compose-braced"),
    pytest.param("org/m$HF_TOKEN", id="compose-bare"),
    pytest.param("org/m${HF_TOKEN:-x}$", id="compose-default-and-trailing-dollar"),
    pytest.param("org/m$(", id="kubernetes-unclosed"),
]
MESH = """\
version: 1
nodes:
  n1:
    address: n1.lan
    gpus: 1
    runtimes:
      vllm: {{api_key: "${{VLLM_API_KEY}}"}}
      ollama: {{}}
models:
  big: {{runtime: vllm, source: {source!r}, placement: {{nodes: [n1]}}}}
  small: {{runtime: ollama, source: {source!r}, placement: {{nodes: [n1]}}}}
"""


def build(source: str) -> dict[str, bytes]:
    """Every file, rendered from the mesh as the model holds it: validation refuses `${` in a
    source (`env-ref-not-supported`), and the renderers must not depend on it."""
    return pipeline.render(build_mesh(yaml.safe_load(MESH.format(source=source))))


@pytest.mark.parametrize("source", [s for s in SOURCES if "${" not in str(s.values[0])])
def test_sources_with_dollars_are_valid(source: str) -> None:
    doc, problems = load_text(MESH.format(source=source), "jarvis.yaml")
    assert doc is not None and not problems, problems
    compiled = pipeline.compile_document(doc, environ={"VLLM_API_KEY": "x"})
    assert compiled.mesh is not None, [str(p) for p in compiled.problems]


def kubelet_expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's expansion of a container's command, args and env values, as
    k8s.io/kubernetes/third_party/forked/golang/expansion.Expand does it."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            following = text[i + 1]
            if following == "$":
                out.append("$")
                i += 2
            elif following == "(" and ")" in text[i + 2 :]:
                end = text.index(")", i + 2)
                name = text[i + 2 : end]
                out.append(env.get(name, f"$({name})"))
                i = end + 1
            else:
                out.append("$" + following)
                i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def containers(files: dict[str, bytes]) -> Iterator[dict[str, Any]]:
    for name, data in files.items():
        if name.startswith("kubernetes/") and name.endswith(".yaml"):
            for document in yaml.safe_load_all(data):
                pod = _pod_spec(document or {})
                if pod is not None:
                    yield from pod.get("initContainers", [])
                    yield from pod["containers"]


def _pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    if document.get("kind") in ("Deployment", "StatefulSet", "Job"):
        return document["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


@pytest.mark.parametrize("source", SOURCES)
def test_kubernetes_args_and_env_expand_to_the_source(source: str) -> None:
    files = build(source)
    seen = []
    for container in containers(files):
        env = {e["name"]: SENTINEL for e in container.get("env", [])}
        env.update(HF_TOKEN=SENTINEL, VLLM_API_KEY=SENTINEL, OLLAMA_HOST=SENTINEL)
        for word in [*container.get("command", []), *container.get("args", [])]:
            if source in kubelet_expand(word, env) or word in (source, f"{source}"):
                seen.append(kubelet_expand(word, env))
            assert SENTINEL not in kubelet_expand(word, env) or word.startswith("$(")
        for item in container.get("env", []):
            if "value" in item and item["name"] != "DATABASE_URL":
                assert SENTINEL not in kubelet_expand(item["value"], env), item
    # vLLM's --model and --served-model-name, and the ollama pull job's argument.
    assert seen.count(source) >= 3, seen


def test_kubelet_expansion_is_modelled_on_its_documented_cases() -> None:
    env = {"VAR": "v"}
    cases = {"$(VAR)": "v", "$$(VAR)": "$(VAR)", "$$$(VAR)": "$v", "$(VAR": "$(VAR", "a$": "a$"}
    assert {text: kubelet_expand(text, env) for text in cases} == cases


@pytest.mark.slow  # docker-compose starts in about 2 s, twice per source
@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
@pytest.mark.parametrize("source", SOURCES)
def test_compose_and_swarm_files_read_back_the_source(source: str, tmp_path: Path) -> None:
    """docker-compose itself interpolates the files, with every variable set to a sentinel."""
    files = build(source)
    for name, data in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    environ = {**os.environ, "HF_TOKEN": SENTINEL, "VLLM_API_KEY": SENTINEL}
    for name in ("compose/nodes/n1/compose.yaml", "compose/swarm/stack.yaml"):
        result = subprocess.run(
            ["docker-compose", "-f", str(tmp_path / name), "config"],
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        # `config` writes its result escaped again ($ as $$), for compose to read back.
        commands = [
            word.replace("$$", "$")
            for service in yaml.safe_load(result.stdout)["services"].values()
            for word in service.get("command") or []
        ]
        assert commands.count(source) >= 3 if "nodes" in name else source in commands, commands
        assert SENTINEL not in "\n".join(commands)


# LiteLLM's own resolution of `os.environ/` (ProxyConfig._check_for_os_environ_vars), in a
# process of its own: importing the proxy is slow and warns. Prints the resolved model_list.
RESOLVE = """
import json, sys
from litellm.proxy.proxy_server import ProxyConfig
configs = json.load(sys.stdin)
resolve = ProxyConfig()._check_for_os_environ_vars
print(json.dumps([resolve(config=config)["model_list"] for config in configs]))
"""


@pytest.mark.slow  # importing the proxy takes 15 to 45 s
def test_litellm_config_reads_back_through_the_proxys_own_loader() -> None:
    """Every model value stays as written; only the secret fields are resolved."""
    sources = [str(param.values[0]) for param in SOURCES]
    configs = [yaml.safe_load(build(source)["litellm/config.yaml"]) for source in sources]
    environ = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    environ.update(VLLM_API_KEY=SENTINEL, HF_TOKEN=SENTINEL)
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", RESOLVE],
        input=json.dumps(configs),
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for source, model_list in zip(sources, json.loads(result.stdout), strict=True):
        for entry in model_list:
            params = entry["litellm_params"]
            assert params["model"].endswith(source), params
            assert SENTINEL not in str({k: v for k, v in params.items() if k != "api_key"})
        assert any(e["litellm_params"].get("api_key") == SENTINEL for e in model_list)


@pytest.mark.parametrize("value", ["os.environ/JARVIS_MASTER_KEY", "os.environ/", "os.environ/X/y"])
def test_litellm_values_that_the_proxy_would_resolve_are_refused(value: str) -> None:
    with pytest.raises(RenderError, match="environment variable"):
        expansion.litellm(value)
    with pytest.raises(RenderError):
        expansion.litellm_data({"stop": ["ok", value]})
    assert expansion.litellm(" " + value) == " " + value  # the proxy tests the string's start


def test_a_param_the_proxy_would_resolve_is_refused_even_unvalidated() -> None:
    """The renderer's own defence, for a mesh built without validation."""
    data = yaml.safe_load(MESH.format(source="org/m"))
    data["models"]["big"]["params"] = {"stop": ["os.environ/JARVIS_MASTER_KEY"]}
    with pytest.raises(RenderError):
        pipeline.render(build_mesh(data), ["litellm"])


@pytest.mark.parametrize(
    "text", ["a b", "a;b", "a$b", "a{b", "a}b", "a'b", 'a"b', "a\nb", "", "a#b"]
)
def test_nginx_tokens_refuse_what_nginx_splits_or_expands(text: str) -> None:
    with pytest.raises(RenderError):
        expansion.nginx(text)


def test_nginx_conf_upstreams_are_plain_tokens() -> None:
    data = yaml.safe_load(MESH.format(source="org/m$(HF_TOKEN)"))
    data["gateway"] = {"replicas": 3}
    files = pipeline.render(build_mesh(data), ["compose"])
    servers = [
        line.split()[1]
        for line in files["compose/gateway/nginx.conf"].decode().splitlines()
        if line.strip().startswith("server ") and ":" in line
    ]
    assert len(servers) == 3
    assert all(expansion.NGINX_TOKEN.fullmatch(s.rstrip(";")) for s in servers), servers


@pytest.mark.parametrize(
    "word", ["a b", "$(id)", "`id`", "'", '"', "a;b|c&&d", "\\", "", "-n", "${HOME}", "é"]
)
def test_shell_words_split_back_to_the_value(word: str) -> None:
    assert shlex.split(expansion.shell(word)) == [word]


@pytest.mark.parametrize("name", ["A", "_X1", "JARVIS_MASTER_KEY"])
def test_env_file_names_pass(name: str) -> None:
    assert expansion.env_name(name) == name


@pytest.mark.parametrize("name", ["1A", "A-B", "A B", "A=B", "A\nB=x", "", "A}"])
def test_env_file_names_refuse_what_compose_reads_otherwise(name: str) -> None:
    with pytest.raises(RenderError):
        expansion.env_name(name)


@pytest.mark.parametrize("text", ["a\nB=x", "a\rB=x", "a\u2028b", "a\x85b"])
def test_env_file_comments_are_one_line(text: str) -> None:
    with pytest.raises(RenderError):
        expansion.env_comment(text)


def test_every_reader_is_covered(request: pytest.FixtureRequest) -> None:
    """One test per format of the table in render/expansion.py."""
    formats: list[Callable[..., Any]] = [
        expansion.compose,
        expansion.kubernetes,
        expansion.litellm,
        expansion.nginx,
        expansion.shell,
        expansion.env_name,
        expansion.env_comment,
    ]
    names = {f.__name__ for f in formats}
    public = {n for n in dir(expansion) if callable(getattr(expansion, n)) and n.islower()}
    assert names <= public


@pytest.mark.parametrize("length", [1, 128])
def test_variable_names_up_to_the_limit_build_files_that_parse(length: int) -> None:
    """The longest variable name allowed becomes a key of the compose files and a line of
    .env.example; each file still parses and holds it."""
    var = "K" * length
    data = yaml.safe_load(MESH.format(source="org/m").replace("VLLM_API_KEY", var))
    doc, problems = load_text(yaml.safe_dump(data), "jarvis.yaml")
    assert doc is not None and not problems
    assert pipeline.compile_document(doc, environ={var: "x"}).mesh is not None
    files = pipeline.render(build_mesh(data))
    for name in ("compose/nodes/n1/compose.yaml", "compose/swarm/stack.yaml"):
        assert var in yaml.safe_dump(yaml.safe_load(files[name]), width=10**6), name
    assert f"\n{var}=\n" in files[".env.example"].decode()


def test_a_variable_name_over_the_limit_is_refused_by_validation_and_the_renderer() -> None:
    var = "K" * 129
    doc, _ = load_text(MESH.format(source="org/m").replace("VLLM_API_KEY", var), "jarvis.yaml")
    assert doc is not None
    codes = {p.code for p in pipeline.compile_document(doc, environ={var: "x"}).problems}
    assert codes == {"env-name-too-long"}
    with pytest.raises(RenderError):
        expansion.env_name(var)
