"""Synthetic meshes for benchmarks and tests: N nodes x M models, every model on every node.

The mesh is valid by construction (ports, memory budgets, placements and references all
consistent), so it exercises the whole pipeline: half the models are placed by role, half by
an explicit node list, runtimes rotate over ollama/vllm/llamacpp, and aliases and fallbacks
reference the models. Output is deterministic: the same arguments give the same bytes.

    python benchmarks/synth.py --nodes 400 --models 50 -o /tmp/mesh.yaml   # 20,000 deployments
    python benchmarks/synth.py --deployments 10000 -o /tmp/mesh.yaml
    python benchmarks/synth.py --nodes 40 --models 10 --split -o /tmp/mesh/  # nodes/ + models/
    python benchmarks/synth.py --deployments 10000 --replicas 200 --pinning prefer -o mesh.yaml

With `--replicas R` the shape is the other common one: each model on R nodes, placed by role.
Nodes come in pairs (one with a pool role such as `gpu`, one `cpu` node serving nothing) and
the models are dealt over pools of R nodes, at most 50 models a pool: 10,000 deployments with
R = 200 is 400 nodes (200 with role gpu) x 50 models placed by `roles: [gpu]`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import yaml

RUNTIMES = ("ollama", "vllm", "llamacpp")
RUNTIME_PORTS = {"ollama": 11434, "vllm": 8000, "llamacpp": 8080}
CATEGORIES = ("general", "code", "fast", "reasoning")
MODELS_PER_NODE_LIMIT = 50  # shape() keeps M at most this, growing N instead


def shape(deployments: int) -> tuple[int, int]:
    """(nodes, models) whose product is exactly `deployments`, as square as possible with
    models <= 50 (e.g. 10,000 -> 200 x 50)."""
    if deployments <= 0:
        raise ValueError("deployments must be positive")
    limit = min(MODELS_PER_NODE_LIMIT, math.isqrt(deployments))
    models = max(m for m in range(1, limit + 1) if deployments % m == 0)
    return deployments // models, models


def node_name(i: int) -> str:
    return f"node-{i:05d}"


def model_name(j: int) -> str:
    return f"model-{j:03d}"


def mesh(nodes: int, models: int, *, hosted: int = 0) -> dict[str, Any]:
    """The mesh as plain data: `nodes * models` node deployments plus `hosted` hosted ones."""
    data: dict[str, Any] = {
        "version": 1,
        "gateway": {
            "port": 4000,
            "master_key": "${JARVIS_MASTER_KEY}",
            "replicas": 1,
            "database": False,
            "litellm_version": "1.108.7",
        },
        "nodes": {node_name(i): _node(i, models) for i in range(nodes)},
        "models": {model_name(j): _model(j, nodes) for j in range(models)},
    }
    if hosted:
        data["providers"] = {"openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"}}
        for k in range(hosted):
            data["models"][f"hosted-{k:03d}"] = {
                "category": "general",
                "provider": "openai",
                "source": f"gpt-4o-{k}",
                "context_window": 128000,
            }
    data["aliases"] = {f"alias-{j:03d}": model_name(j) for j in range(0, models, 5)}
    data["routing"] = _routing(models, hosted)
    return data


def replicated(deployments: int, replicas: int, *, pinning: str = "strict") -> dict[str, Any]:
    """`deployments / replicas` models, each on `replicas` nodes of one pool role."""
    if deployments % replicas:
        raise ValueError("deployments must be a multiple of replicas")
    models = deployments // replicas
    pools = -(-models // MODELS_PER_NODE_LIMIT)
    per_pool = -(-models // pools)
    data = mesh(0, models)
    data["nodes"] = {}
    for i in range(2 * replicas * pools):
        node = _node(i, per_pool)
        if i % 2 == 0:
            node["roles"] = [_pool(i // 2 // replicas, pools)]
        else:
            node["roles"] = ["cpu"]
        data["nodes"][node_name(i)] = node
    for j, name in enumerate(data["models"]):
        data["models"][name]["placement"] = {"roles": [_pool(j % pools, pools)]}
        data["models"][name]["description"] = f"Synthetic model {j} on {replicas} nodes."
    data["routing"]["node_pinning"] = pinning
    return data


def _pool(k: int, pools: int) -> str:
    return "gpu" if pools == 1 else f"gpu-{k:03d}"


def _node(i: int, models: int) -> dict[str, Any]:
    return {
        "address": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        if i % 2
        else f"{node_name(i)}.mesh.lan",
        "roles": ["gpu", "mesh"] if i % 2 == 0 else ["cpu", "mesh"],
        "memory_gb": models + 8,
        "runtimes": {kind: {"port": RUNTIME_PORTS[kind]} for kind in RUNTIMES},
    }


def _model(j: int, nodes: int) -> dict[str, Any]:
    runtime = RUNTIMES[j % len(RUNTIMES)]
    placement: dict[str, Any] = (
        {"roles": ["mesh"]} if j % 2 == 0 else {"nodes": [node_name(i) for i in range(nodes)]}
    )
    spec: dict[str, Any] = {
        "category": CATEGORIES[j % len(CATEGORIES)],
        "description": f"Synthetic model {j} served by {runtime} on every node.",
        "runtime": runtime,
        "source": f"org/synthetic-{j}:7b" if runtime != "ollama" else f"synthetic-{j}:7b",
        "context_window": 4096 * (1 + j % 8),
        "memory_gb": 1,
        "placement": placement,
    }
    if j % 3 == 0:
        spec["params"] = {"temperature": 0.5, "max_tokens": 1024}
    if j % 4 == 0:
        spec["limits"] = {"rpm": 600, "max_parallel_requests": 8}
    return spec


def _routing(models: int, hosted: int) -> dict[str, Any]:
    fallbacks: dict[str, list[str]] = {}
    for j in range(0, models - 1, 2):
        fallbacks[model_name(j)] = [model_name(j + 1)] + (["hosted-000"] if hosted else [])
    return {"strategy": "simple-shuffle", "node_pinning": "strict", "fallbacks": fallbacks}


def to_yaml(data: dict[str, Any]) -> str:
    """Block-style YAML, keys in insertion order, as an operator would write it."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(
        yaml.dump(
            data,
            Dumper=dumper,
            sort_keys=False,
            default_flow_style=False,
            width=100,
            allow_unicode=True,
        )
    )


def write(path: Path, nodes: int, models: int, *, hosted: int = 0, split: bool = False) -> Path:
    """Write the mesh to `path` (one file), or split over `path/{gateway,nodes,models}.yaml`."""
    return write_data(path, mesh(nodes, models, hosted=hosted), split=split)


def write_data(path: Path, data: dict[str, Any], *, split: bool = False) -> Path:
    """Write mesh data to `path` (one file), or split over `path/{gateway,nodes,models}.yaml`."""
    if not split:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(data), encoding="utf-8")
        return path
    path.mkdir(parents=True, exist_ok=True)
    parts = {
        "gateway.yaml": {k: v for k, v in data.items() if k not in ("nodes", "models")},
        "nodes/nodes.yaml": {"nodes": data["nodes"]},
        "models/models.yaml": {"models": data["models"]},
    }
    for relative, part in parts.items():
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_yaml(part), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int)
    parser.add_argument("--models", type=int)
    parser.add_argument("--deployments", type=int, help="pick nodes x models for this count")
    parser.add_argument("--hosted", type=int, default=0, help="hosted-provider models to add")
    parser.add_argument("--replicas", type=int, help="each model on this many nodes, by role")
    parser.add_argument("--pinning", choices=("strict", "prefer"), default="strict")
    parser.add_argument("--split", action="store_true", help="write a folder of split files")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.deployments and args.replicas:
        data = replicated(args.deployments, args.replicas, pinning=args.pinning)
        write_data(args.out, data, split=args.split)
        print(f"wrote {args.out}: {len(data['nodes'])} nodes, {len(data['models'])} models")
        return 0
    if args.deployments:
        nodes, models = shape(args.deployments)
    elif args.nodes and args.models:
        nodes, models = args.nodes, args.models
    else:
        parser.error("give --deployments, or --nodes and --models")
    write(args.out, nodes, models, hosted=args.hosted, split=args.split)
    print(
        f"wrote {args.out}: {nodes} nodes x {models} models = {nodes * models} node "
        f"deployments (+{args.hosted} hosted)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
