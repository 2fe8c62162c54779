"""The catalogue of problem codes: every code any stage emits, with what it means (one cause
per code) and a config that fails with it.

Rules declare the codes they emit (`@emits(...)` on a semantic rule or a schema handler,
`EMITS` in the loader); tests check that every declared, emitted or expected code is listed
here, and `docs/codes.md` is generated from this table (`pytest --update-golden`). To add a
code: add one entry below, in alphabetical order, and declare it on the rule.

An example is a complete config that fails with the code, or, for problems of the files
themselves, a shell line starting with `$ ` that reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

Function = TypeVar("Function", bound=Callable[..., Any])

# The body most examples share: one node, one model placed on it.
_NODE = "nodes:\n  n1: {address: n1.lan, memory_gb: 16, runtimes: {ollama: {}}}\n"
_MODEL = "  llama3: {runtime: ollama, source: llama3:8b, memory_gb: 6, placement: {nodes: [n1]}}\n"
_MESH = f"version: 1\n{_NODE}models:\n{_MODEL}"
# Billion laughs: each anchor repeats the one before ten times.
_LEVELS = tuple(zip("abcdefg", "bcdefgh", strict=True))
_HOSTED = 'providers:\n  openai: {kind: openai, api_key: "${OPENAI_API_KEY}"}\n'


@dataclass(frozen=True, slots=True)
class Code:
    """One problem code: its single cause, and a config (or shell line) that triggers it."""

    meaning: str
    example: str


CODES: dict[str, Code] = {
    "address-has-port": Code(
        "a node's address carries a port; ports belong under the node's runtimes",
        "version: 1\nnodes:\n  n1: {address: 'n1.lan:11434', runtimes: {ollama: {}}}\n",
    ),
    "address-is-url": Code(
        "a node's address is a URL instead of a host name or IP address",
        "version: 1\nnodes:\n  n1: {address: 'http://n1.lan', runtimes: {ollama: {}}}\n",
    ),
    "address-port-conflict": Code(
        "two nodes share an address (one machine) and serve the same port",
        "version: 1\nnodes:\n  n1: {address: box.lan, runtimes: {ollama: {}}}\n"
        "  n2: {address: box.lan, runtimes: {ollama: {}}}\n",
    ),
    "alias-bomb": Code(
        "YAML anchors and aliases expand to more values than the loader accepts",
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{b}: &{b} [{', '.join(['*' + a] * 10)}]\n" for a, b in _LEVELS),
    ),
    "alias-cycle": Code(
        "aliases point at each other in a loop and never reach a model",
        f"{_MESH}aliases:\n  chat: talk\n  talk: chat\n",
    ),
    "alias-shadows-model": Code(
        "an alias has the same name as a model",
        f"{_MESH}aliases:\n  llama3: llama3\n",
    ),
    "bad-address": Code(
        "a node's address is neither a host name nor an IP address",
        "version: 1\nnodes:\n  n1: {address: 'ai max', runtimes: {ollama: {}}}\n",
    ),
    "bad-choice": Code(
        "a field that takes one of a fixed set of words holds another word",
        f"{_MESH}routing:\n  strategy: least_busy\n",
    ),
    "bad-format": Code(
        "a text field does not have the form its field requires (a version, a URL, ...)",
        "version: 1\ngateway:\n  litellm_version: latest\n",
    ),
    "bad-name": Code(
        "a node, model, provider, alias or role name has characters names cannot have",
        f"{_MESH}aliases:\n  'my chat': llama3\n",
    ),
    "bad-scalar": Code(
        "a value with an explicit YAML tag cannot be read as that type",
        "version: !!int one\n",
    ),
    "bad-url": Code(
        "an api_base is not a plain http(s) URL of a real host",
        f"version: 1\n{_NODE}providers:\n"
        "  openai: {kind: openai, api_key: \"${OPENAI_API_KEY}\", api_base: 'http://fd00::1/v1'}\n",
    ),
    "bad-value": Code(
        "a value breaks a schema constraint that has no more specific code",
        "$ # no config reaches it today: it reports schema keywords without a handler of "
        "their own, quoting the schema's message",
    ),
    "binary-file": Code(
        "the file contains a NUL byte: it is not a text file",
        "$ printf 'version: 1\\0' > jarvis.yaml && jarvis-config validate jarvis.yaml",
    ),
    "completion-failed": Code(
        "doctor: a one-token completion for a model on a node failed",
        "$ jarvis-config doctor mesh/ --probe-completions  # a placed model fails to load",
    ),
    "compromised-litellm": Code(
        "gateway.litellm_version pins a LiteLLM release known to be compromised",
        "version: 1\ngateway:\n  litellm_version: 1.82.7\n",
    ),
    "conflicting-fields": Code(
        "two fields are set where only one of them may be",
        f"version: 1\n{_HOSTED}models:\n"
        "  m: {runtime: ollama, provider: openai, source: gpt-4o}\n",
    ),
    "context-window-exceeds-served": Code(
        "doctor: a model declares a larger context_window than its runtime serves",
        "$ jarvis-config doctor mesh/  # context_window: 131072, Ollama serves it with 8192",
    ),
    "control-character": Code(
        "a one-line field holds a line break or control character, or a description or stop "
        "string a control character other than line breaks and tabs",
        f"version: 1\n{_NODE}models:\n  llama3: {{runtime: ollama, "
        'source: "llama3\\n::error::forged", placement: {nodes: [n1]}}\n',
    ),
    "defined-twice": Code(
        "two files of a split mesh define the same entry or set the same section",
        "$ printf 'version: 1\\n' > a.yaml && cp a.yaml b.yaml && sed -i s/1/2/ b.yaml"
        " && jarvis-config validate .",
    ),
    "derived-port-out-of-range": Code(
        "a runtime that serves one model per port would serve a model above port 65535",
        "version: 1\nnodes:\n  n1: {address: n1.lan, runtimes: {vllm: {port: 65535}}}\n"
        "models:\n  coder: {runtime: vllm, source: a/coder, placement: {nodes: [n1]}}\n"
        "  writer: {runtime: vllm, source: a/writer, placement: {nodes: [n1]}}\n",
    ),
    "duplicate-item": Code(
        "a list that must not repeat itself lists an item twice",
        f"version: 1\n{_NODE}models:\n"
        "  llama3: {runtime: ollama, source: llama3:8b, placement: {nodes: [n1, n1]}}\n",
    ),
    "duplicate-key": Code(
        "a mapping has the same key twice",
        "version: 1\nversion: 1\n",
    ),
    "empty-file": Code(
        "the file is empty or holds only comments",
        "# nothing here yet\n",
    ),
    "empty-value": Code(
        "a text, list or mapping that must hold something is empty",
        "version: 1\nnodes:\n  n1: {address: '', runtimes: {ollama: {}}}\n",
    ),
    "env-name-too-long": Code(
        "a ${VAR} reference names a variable of more than 128 characters",
        "version: 1\ngateway:\n  master_key: ${" + "K" * 129 + "}\n",
    ),
    "env-ref-not-supported": Code(
        "a ${VAR} reference in a field that is written out literally (only secrets take one)",
        "version: 1\nnodes:\n  n1: {address: '${NODE_HOST}', runtimes: {ollama: {}}}\n",
    ),
    "env-unset": Code(
        "a secret's ${VAR} is not set where the mesh is built (a warning; --strict: an error)",
        'version: 1\ngateway:\n  master_key: "${JARVIS_CODES_EXAMPLE_UNSET}"\n',
    ),
    "fallback-self": Code(
        "a model (or its alias) falls back to itself",
        f"{_MESH}routing:\n  fallbacks:\n    llama3: [llama3]\n",
    ),
    "file-not-found": Code(
        "the config path does not exist",
        "$ jarvis-config validate nosuch.yaml",
    ),
    "file-too-large": Code(
        "the config file is larger than the loader reads",
        "$ head -c 20000000 /dev/zero | tr '\\0' '#' > jarvis.yaml"
        " && jarvis-config validate jarvis.yaml",
    ),
    "gateway-auth-failed": Code(
        "doctor: the gateway refused the key (or no key is set)",
        "$ JARVIS_MASTER_KEY=wrong jarvis-config doctor mesh/ --gateway http://gateway.lan:4000",
    ),
    "gateway-config-differs": Code(
        "doctor: the gateway serves another config than `build` renders from the mesh",
        "$ jarvis-config doctor mesh/ --gateway http://gateway.lan:4000  # an older build runs",
    ),
    "gateway-slow-start": Code(
        "one gateway would serve more than 2,000 deployments and take minutes to start (a warning)",
        "$ python benchmarks/synth.py --deployments 2001 -o big.yaml"
        " && jarvis-config validate big.yaml",
    ),
    "gateway-unreachable": Code(
        "doctor: the gateway does not answer /health/readiness as ready",
        "$ jarvis-config doctor mesh/ --gateway http://gateway.lan:4000  # the proxy is down",
    ),
    "hosted-placement": Code(
        "a model served by a hosted provider has a placement",
        f"version: 1\n{_HOSTED}models:\n"
        "  gpt-4o: {provider: openai, source: gpt-4o, placement: {roles: [gpu]}}\n",
    ),
    "input-too-large": Code(
        "the YAML files of a folder are together larger than the loader reads",
        "$ mkdir mesh && for i in 1 2 3 4 5; do head -c 15000000 /dev/zero | tr '\\0' '#'"
        " > mesh/$i.yaml; done && jarvis-config validate mesh",
    ),
    "limit-below-processes": Code(
        "a model's or key's limit is smaller than the gateway's processes (workers x replicas), "
        "which each enforce an equal share of it",
        f"version: 1\ngateway: {{workers: 2, replicas: 2}}\n{_NODE}models:\n"
        "  llama3: {runtime: ollama, source: llama3:8b, placement: {nodes: [n1]}, "
        "limits: {max_parallel_requests: 3}}\n",
    ),
    "litellm-env-ref": Code(
        "a value outside master_key and api_key holds 'os.environ/', which the LiteLLM proxy "
        "would replace with an environment variable",
        f"version: 1\n{_NODE}models:\n  llama3: {{runtime: ollama, source: llama3:8b, "
        "description: os.environ/OPENAI_API_KEY, placement: {nodes: [n1]}}\n",
    ),
    "literal-secret": Code(
        "a secret field (master_key, api_key) holds a literal value, not an env reference",
        "version: 1\ngateway:\n  master_key: sk-1234\n",
    ),
    "llamacpp-source-file": Code(
        "a llama.cpp model's source is a path or ends in .gguf; it names the file without .gguf",
        "version: 1\nnodes:\n  n1: {address: n1.lan, runtimes: {llamacpp: {}}}\nmodels:\n"
        "  phi3: {runtime: llamacpp, source: Phi-3-mini-q4.gguf, placement: {nodes: [n1]}}\n",
    ),
    "memory-over-budget": Code(
        "the models placed on a node need more memory than the node's memory_gb",
        f"version: 1\n{_NODE}models:\n"
        "  big: {runtime: ollama, source: llama3:70b, memory_gb: 40, placement: {nodes: [n1]}}\n",
    ),
    "mesh-too-large": Code(
        "the mesh has more than 5,000 nodes or 50,000 deployments (models placed on nodes)",
        "$ python benchmarks/synth.py --deployments 50001 -o huge.yaml"
        " && jarvis-config validate huge.yaml",
    ),
    "missing-field": Code(
        "a required field is missing",
        "version: 1\nnodes:\n  n1: {runtimes: {ollama: {}}}\n",
    ),
    "missing-placement": Code(
        "a model served on your nodes has no placement",
        f"version: 1\n{_NODE}models:\n  llama3: {{runtime: ollama, source: llama3:8b}}\n",
    ),
    "model-not-served": Code(
        "doctor: a model placed on a node is missing from that node's runtime",
        "$ jarvis-config doctor mesh/  # llama3:8b placed on n1, never pulled there",
    ),
    "model-unused": Code(
        "doctor: a runtime serves models the mesh does not place on its node (a note)",
        "$ jarvis-config doctor mesh/  # n1's Ollama also holds mistral:7b",
    ),
    "name-collision": Code(
        "two entries generate the same name in the rendered files, letter case aside",
        "version: 1\nnodes:\n  n1: {address: n1.lan, runtimes: {ollama: {}}}\n"
        "  N1: {address: n2.lan, runtimes: {ollama: {}}}\n",
    ),
    "no-yaml-files": Code(
        "a config folder holds no .yaml or .yml files",
        "$ mkdir mesh && jarvis-config validate mesh",
    ),
    "node-without-runtime": Code(
        "a model is placed on a node that lacks the model's runtime",
        f"version: 1\n{_NODE}models:\n"
        "  coder: {runtime: vllm, source: org/coder, placement: {nodes: [n1]}}\n",
    ),
    "non-string-key": Code(
        "a mapping key is not text (a number, a boolean, a list)",
        "version: 1\nnodes:\n  1: {address: n1.lan}\n",
    ),
    "not-a-file": Code(
        "the config path is not a regular file (a FIFO, a device, a socket)",
        "$ mkfifo jarvis.yaml && jarvis-config validate jarvis.yaml",
    ),
    "not-a-mesh": Code(
        "the YAML file is something else (a CI workflow, a compose file): no top-level key "
        "is a mesh section",
        "on: push\njobs:\n  test: {runs-on: ubuntu-latest, steps: [{run: make}]}\n",
    ),
    "not-finite": Code(
        "a number is NaN or infinite",
        "version: 1\nnodes:\n  n1: {address: n1.lan, memory_gb: .nan, runtimes: {ollama: {}}}\n",
    ),
    "not-utf8": Code(
        "the file is not valid UTF-8",
        "$ printf 'version: 1 # \\xff\\n' > jarvis.yaml && jarvis-config validate jarvis.yaml",
    ),
    "number-too-large": Code(
        "a number is beyond ±2**53, where JSON readers lose precision and derived values overflow",
        "version: 1\nnodes:\n"
        "  n1: {address: n1.lan, memory_gb: 1.0e+300, runtimes: {ollama: {}}}\n",
    ),
    "out-of-range": Code(
        "a number is below its minimum or above its maximum",
        "version: 1\ngateway:\n  port: 70000\n",
    ),
    "output-too-large": Code(
        "the rendered files would grow with a product of the config (models on nodes x the "
        "roles of each node, aliases x nodes, fallbacks) beyond 250,000 entries",
        "$ python benchmarks/synth.py --nodes 20 --models 20 -o m.yaml  # then give each node "
        "13,000 roles, and: jarvis-config validate m.yaml",
    ),
    "placement-empty": Code(
        "a placement by roles selects no node that has the model's runtime",
        "version: 1\nnodes:\n  n1: {address: n1.lan, roles: [gpu], runtimes: {ollama: {}}}\n"
        "models:\n  coder: {runtime: vllm, source: org/coder, placement: {roles: [gpu]}}\n",
    ),
    "port-conflict": Code(
        "two runtimes of one node use the same port",
        "version: 1\nnodes:\n"
        "  n1: {address: n1.lan, runtimes: {vllm: {port: 8000}, llamacpp: {port: 8000}}}\n",
    ),
    "port-range-conflict": Code(
        "the consecutive ports a vLLM or llama.cpp runtime serves its models on reach "
        "another runtime's port",
        "version: 1\nnodes:\n"
        "  n1: {address: n1.lan, runtimes: {vllm: {port: 8000}, llamacpp: {port: 8001}}}\n"
        "models:\n  a: {runtime: vllm, source: org/a, placement: {nodes: [n1]}}\n"
        "  b: {runtime: vllm, source: org/b, placement: {nodes: [n1]}}\n",
    ),
    "quantization-differs": Code(
        "doctor: a runtime serves another quantization of a model than declared (a warning)",
        "$ jarvis-config doctor mesh/  # quantization: q8_0, the node serves q4_K_M",
    ),
    "recursive-alias": Code(
        "a YAML anchor refers to itself",
        "version: 1\nnodes: &n\n  n1: *n\n",
    ),
    "root-not-mapping": Code(
        "the top level of the file is a list or a single value, not a mapping of sections",
        "- version: 1\n",
    ),
    "runtime-bad-answer": Code(
        "doctor: a server answers at a runtime's port, but not as that runtime does",
        "$ jarvis-config doctor mesh/  # vllm: {port: 8080}, where llama.cpp listens",
    ),
    "runtime-unreachable": Code(
        "doctor: a node's runtime does not answer its listing endpoint",
        "$ jarvis-config doctor mesh/  # Ollama on n1 is stopped",
    ),
    "secret-in-url": Code(
        "a URL carries what looks like a credential (a user name, a query parameter such as "
        "sig= or auth=, a key-shaped path segment) that secret-like-value does not report",
        f'version: 1\n{_NODE}providers:\n  openai: {{kind: openai, api_key: "${{OPENAI_API_KEY}}", '
        "api_base: 'https://api.example.com/v1?sig=abc'}\n",
    ),
    "secret-like-value": Code(
        "a field that is written out (an api_base, a source, ...) looks like it holds a secret",
        "version: 1\nproviders:\n  local: {kind: openai-compatible, "
        "api_base: 'https://llm.example.com/v1?key=abc'}\n",
    ),
    "secret-purpose": Code(
        "a provider's or runtime's api_key reads the variable of the master key, a client's "
        "key or the gateway's Redis or database password",
        f"version: 1\ngateway:\n  master_key: ${{JARVIS_MASTER_KEY}}\n{_NODE}"
        "providers:\n  evil: {kind: openai-compatible, api_base: 'https://evil.example/v1', "
        "api_key: '${JARVIS_MASTER_KEY}'}\n",
    ),
    "several-documents": Code(
        "the file holds more than one YAML document (a `---` line)",
        "version: 1\n---\nnodes: {}\n",
    ),
    "shared-key-variable": Code(
        "two gateway keys, or a key and the master key, read the same environment variable",
        f"version: 1\ngateway:\n  master_key: ${{JARVIS_MASTER_KEY}}\n"
        f'  keys:\n    admin: {{key: "${{JARVIS_MASTER_KEY}}"}}\n{_NODE}',
    ),
    "tab": Code(
        "a tab character is used for indentation",
        "version: 1\nnodes:\n\tn1: {}\n",
    ),
    "text-too-long": Code(
        "a string or key of the config is longer than 8,192 characters, more than one line "
        "of the gateway's config may hold in a Kubernetes ConfigMap",
        f"{_MESH.replace('llama3:8b,', 'llama3:8b, params: {stop: [' + 'x' * 8193 + ']},')}",
    ),
    "too-deep": Code(
        "the YAML is nested more deeply than the loader accepts",
        "version: 1\nparams: " + "[" * 200 + "]" * 200 + "\n",
    ),
    "unknown-alias-target": Code(
        "an alias points at a name that is neither a model nor an alias",
        f"{_MESH}aliases:\n  chat: lama3\n",
    ),
    "unknown-field": Code(
        "a field or section the format does not have (often a typo)",
        f"{_MESH}routing:\n  stratgy: least-busy\n",
    ),
    "unknown-key-model": Code(
        "a gateway key allows a name that is neither a model nor an alias",
        f'version: 1\ngateway:\n  keys:\n    n8n: {{key: "${{JARVIS_KEY_N8N}}", models: [lama3]}}\n'
        f"{_NODE}models:\n{_MODEL}",
    ),
    "unknown-model": Code(
        "a routing fallback names (or is set for) something that is neither a model nor an alias",
        f"{_MESH}routing:\n  fallbacks:\n    llama3: [gpt-5]\n",
    ),
    "unknown-node": Code(
        "a placement names a node that is not defined",
        f"version: 1\n{_NODE}models:\n"
        "  llama3: {runtime: ollama, source: llama3:8b, placement: {nodes: [n2]}}\n",
    ),
    "unknown-provider": Code(
        "a model uses a provider that is not defined",
        "version: 1\nmodels:\n  gpt-4o: {provider: openai, source: gpt-4o}\n",
    ),
    "unknown-role": Code(
        "a placement names a role no node has",
        f"version: 1\n{_NODE}models:\n"
        "  llama3: {runtime: ollama, source: llama3:8b, placement: {roles: [gpu]}}\n",
    ),
    "unknown-runtime": Code(
        "a node lists a runtime kind that does not exist",
        "version: 1\nnodes:\n  n1: {address: n1.lan, runtimes: {olama: {}}}\n",
    ),
    "unreadable": Code(
        "the config file exists but cannot be read (permissions, a folder in its place)",
        "$ touch jarvis.yaml && chmod 000 jarvis.yaml && jarvis-config validate jarvis.yaml",
    ),
    "unsupported-tag": Code(
        "a YAML tag (such as !!python/object or !!set) that configs may not use",
        "version: 1\nnodes: !!set {n1}\n",
    ),
    "unsupported-version": Code(
        "the config's `version` is not a format version this tool reads",
        "version: 2\n",
    ),
    "untested-litellm": Code(
        "warning: gateway.litellm_version is not the LiteLLM release this tool is tested with",
        "version: 1\ngateway:\n  litellm_version: 1.110.0\n",
    ),
    "wrong-type": Code(
        "a value has the wrong type (text for a number, a single value for a list, ...)",
        "version: 1\ngateway:\n  port: '4000'\n",
    ),
    "yaml-character": Code(
        "the file holds a character YAML does not allow (a control character)",
        "$ printf 'version: 1 \\a\\n' > jarvis.yaml && jarvis-config validate jarvis.yaml",
    ),
    "yaml-syntax": Code(
        "the file is not valid YAML",
        "version: 1\nnodes: {n1: [}\n",
    ),
}


def emits(*codes: str) -> Callable[[Function], Function]:
    """Declare the codes a rule (or schema handler) emits: `@emits("alias-cycle")`."""

    def declare(rule: Function) -> Function:
        rule.codes = codes  # type: ignore[attr-defined]
        return rule

    return declare


def declared(rule: Callable[..., Any]) -> tuple[str, ...]:
    """The codes a rule declared with `emits` (none when it declared nothing)."""
    codes: tuple[str, ...] = getattr(rule, "codes", ())
    return codes


def catalogue_markdown() -> str:
    """docs/codes.md: every code with its meaning and example, from the table above."""
    lines = [
        "# Problem codes",
        "",
        "Every problem jarvis-config reports carries one of these codes, printed as",
        "`FILE:LINE:COL: error[CODE]: message (at $.json.path)` (`FILE: error[CODE]: message`",
        "for a problem of the file as a whole). Each code has one cause; the example beside it",
        "fails with that code. This page is generated from `jarvis_config/validate/codes.py`.",
        "",
        "| code | meaning |",
        "| --- | --- |",
        *(f"| [`{name}`](#{name}) | {code.meaning} |" for name, code in CODES.items()),
    ]
    for name, code in CODES.items():
        fence = "sh" if code.example.startswith("$ ") else "yaml"
        lines += ["", f"## {name}", "", f"{code.meaning[0].upper()}{code.meaning[1:]}.", ""]
        lines += [f"```{fence}", code.example.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"
