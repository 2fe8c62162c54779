"""Doctor fan-out benchmark: how long `jarvis-config doctor` takes on meshes of N nodes when
one node is frozen (it accepts connections and never answers). The target: the timeout plus
one second at 50 nodes, whatever N. Figures go to docs/benchmarks.md ("Doctor fan-out").

    python benchmarks/doctor_fanout.py                    # 10, 50 and 200 nodes, timeout 3 s
    python benchmarks/doctor_fanout.py --sizes 50 --timeout 2 --repeat 5

Everything runs on 127.0.0.1: N-1 fake Ollama runtimes (threads of this process) listing the
model the mesh places on them, and one listening socket that is never accepted from, so the
kernel completes each connection and nothing ever answers. Per size it reports the median of
`--repeat` runs of `python -m jarvis_config doctor` in a child process (interpreter start
and imports included) and of the same command run inside this process.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jarvis_config.standin import StandIn  # noqa: E402
from tests.e2e.harness import free_ports  # noqa: E402
from tests.live.livekit import LLAMA3, fanout_mesh  # noqa: E402


def run_once(mesh: Path, timeout: float) -> tuple[float, int, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "jarvis_config", "doctor", str(mesh), "--timeout", str(timeout)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return time.monotonic() - started, result.returncode, result.stderr


def run_in_process(mesh: Path, timeout: float) -> float:
    """The same command inside this process: the fan-out without the interpreter's start."""
    from click.testing import CliRunner

    from jarvis_config.cli import main

    started = time.monotonic()
    CliRunner().invoke(main, ["doctor", str(mesh), "--timeout", str(timeout)])
    return time.monotonic() - started


def measure(size: int, timeout: float, repeat: int, workdir: Path) -> dict[str, float]:
    taken: set[int] = set()
    ports = [free_ports(1, taken) for _ in range(size)]
    frozen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    frozen.bind(("127.0.0.1", ports[0]))
    frozen.listen(64)  # never accepted: connections complete, nothing answers
    live = [
        StandIn(f"n{i:03}", port=p, models=[LLAMA3]).start() for i, p in enumerate(ports[1:], 1)
    ]
    mesh = workdir / f"mesh-{size}.yaml"
    mesh.write_text(fanout_mesh(ports), encoding="utf-8")
    try:
        runs = [run_once(mesh, timeout) for _ in range(repeat)]
        inside = [run_in_process(mesh, timeout) for _ in range(repeat)]
    finally:
        for runtime in live:
            runtime.stop()
        frozen.close()
    for _, code, stderr in runs:
        if code != 1 or stderr.count("error[runtime-unreachable]") != 1:
            raise SystemExit(f"unexpected doctor result ({code}):\n{stderr}")
    wall = statistics.median(r[0] for r in runs)
    return {"nodes": size, "wall_s": wall, "in_process_s": statistics.median(inside)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| nodes | timeout (s) | doctor, child process (s) | doctor, in-process (s) |")
    print("| ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="doctor-fanout-") as workdir:
        for size in (int(s) for s in args.sizes.split(",")):
            row = measure(size, args.timeout, args.repeat, Path(workdir))
            print(
                f"| {row['nodes']} | {args.timeout:g} | {row['wall_s']:.2f} "
                f"| {row['in_process_s']:.2f} |"
            )


if __name__ == "__main__":
    main()
