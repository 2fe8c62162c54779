"""Fixtures for the hardening tests: example meshes as data, config files on disk, and tmpfs
mounts for output locations that fail (read-only, full)."""

from __future__ import annotations

import copy
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hardkit import HOMELAB, mount_refusal


@pytest.fixture
def homelab() -> dict[str, Any]:
    """The homelab example as plain data; edit a copy freely."""
    return copy.deepcopy(yaml.safe_load(HOMELAB.read_text("utf-8")))


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a mesh as YAML and return the file's path."""

    def write(data: dict[str, Any], name: str = "jarvis.yaml") -> Path:
        path = tmp_path / f"cfg-{uuid.uuid4().hex[:8]}" / name
        path.parent.mkdir(parents=True)
        # libyaml's emitter: the pure-Python one mangles U+0085 (NEL) with allow_unicode.
        path.write_text(
            yaml.dump(
                data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=4096
            ),
            encoding="utf-8",
        )
        return path

    return write


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """mount(size='64k', name='fs') -> a fresh tmpfs mount point; unmounted afterwards."""
    reason = mount_refusal()
    if reason:
        pytest.skip(reason)
    mounted: list[Path] = []

    def mount(size: str = "1m", name: str = "fs") -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(
                f"cannot mount a tmpfs here (container without CAP_SYS_ADMIN?): "
                f"{done.stderr.strip()}"
            )
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)
