"""Build the container images the real-engine tests run, locally, with no image registry.

The rendered compose stacks name public images (the LiteLLM proxy, Redis, nginx). None can be
pulled here, so this builds stand-ins and tags them with exactly those names:

1. a Debian base image from a root filesystem made by `mmdebstrap` from Debian's packages
   (Python, Redis, nginx, curl), imported with `docker import`;
2. the LiteLLM proxy on top, installed from wheels that the host's own pip downloads with the
   same Python version as the image's (so the package registry is reached the way the host
   reaches it, and the build itself needs no network);
3. Redis and nginx: the base image with the matching default command.

Each image carries a label with a digest of its inputs; an image whose label matches is kept,
so a second run takes a second. Run as a script (CI does, before the test venv exists):

    python3 tests/docker/images.py [--rebuild]

It needs the docker SDK (Debian's python3-docker will do) and mmdebstrap for a cold build.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the docker SDK is imported where it is used, so tests collect without it
    import docker

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jarvis_config.model.catalog import (  # noqa: E402  (after the path set-up above)
    DEFAULT_LITELLM_VERSION,
    LITELLM_IMAGE,
    LOAD_BALANCER_IMAGE,
    REDIS_IMAGE,
)

SUITE = "bookworm"  # Debian release of the base image; its python3 is the host's python3
BASE_IMAGE = f"jarvis-config-test/debian:{SUITE}"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "redis-server", "nginx-light")
LABEL = "org.jarvis-config.test-inputs"
STAGE_LABEL = "org.jarvis-config.test-build-stage"

LITELLM_DOCKERFILE = f"""\
FROM {BASE_IMAGE} AS build
LABEL {STAGE_LABEL}=litellm
COPY wheels /tmp/wheels
RUN python3 -m venv /opt/litellm \\
 && /opt/litellm/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels \\
      "litellm[proxy]=={{version}}"

FROM {BASE_IMAGE}
COPY --from=build /opt/litellm /opt/litellm
ENV PATH=/opt/litellm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LITELLM_LOCAL_MODEL_COST_MAP=True PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
EXPOSE 4000
ENTRYPOINT ["litellm"]
CMD ["--port", "4000"]
"""
REDIS_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
CMD ["redis-server", "--save", "", "--appendonly", "no"]
"""
NGINX_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
RUN ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
"""


def litellm_image(version: str = DEFAULT_LITELLM_VERSION) -> str:
    return LITELLM_IMAGE.format(version=version)


def digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def is_current(client: docker.DockerClient, tag: str, inputs: str) -> bool:
    import docker.errors

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    labels: dict[str, str] = image.labels or {}
    return labels.get(LABEL) == inputs


def build_base(client: docker.DockerClient, inputs: str) -> None:
    """Debian root filesystem from the package archive, imported as an image."""
    if shutil.which("mmdebstrap") is None:
        raise RuntimeError("mmdebstrap is missing: apt-get install mmdebstrap")
    with tempfile.TemporaryDirectory(prefix="jarvis-rootfs-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        excludes = [f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale")]
        subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                *excludes,
                SUITE,
                str(tarball),
            ],
            check=True,
        )
        repository, tag = BASE_IMAGE.rsplit(":", 1)
        client.api.import_image_from_file(
            str(tarball),
            repository=repository,
            tag=tag,
            changes=[f"LABEL {LABEL}={inputs}", 'CMD ["/bin/bash"]'],
        )


def download_wheels(version: str, into: Path) -> None:
    """Wheels for the image's Python, fetched by the host's pip (its index and trust settings).

    The host's system python3 is the same Debian release as the image, so environment
    markers such as `python_full_version < "3.11.3"` resolve as they will inside it."""
    venv = into.parent / "download-venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            str(into),
            f"litellm[proxy]=={version}",
        ],
        check=True,
    )


def build_from_dockerfile(
    client: docker.DockerClient,
    tag: str,
    dockerfile: str,
    inputs: str,
    prepare: Callable[[Path], None] | None = None,
) -> None:
    with tempfile.TemporaryDirectory(prefix="jarvis-image-") as tmp:
        context = Path(tmp) / "context"
        context.mkdir()
        (context / "Dockerfile").write_text(dockerfile)
        if prepare is not None:
            prepare(context)
        client.images.build(
            path=str(context), tag=tag, rm=True, forcerm=True, labels={LABEL: inputs}
        )
    # The build stage of a multi-stage build stays behind as an untagged image: drop ours.
    for image in client.images.list(filters={"label": STAGE_LABEL, "dangling": True}):
        client.images.remove(image.id, force=True)


def image_plan(version: str) -> list[tuple[str, str, str, Callable[[Path], None] | None]]:
    """(tag, Dockerfile, inputs digest, context preparation) for each image on the base."""
    base_inputs = digest(SUITE, *BASE_PACKAGES)
    litellm_file = LITELLM_DOCKERFILE.format(version=version)

    def with_wheels(context: Path) -> None:
        download_wheels(version, context / "wheels")

    return [
        (litellm_image(version), litellm_file, digest(base_inputs, litellm_file), with_wheels),
        (REDIS_IMAGE, REDIS_DOCKERFILE, digest(base_inputs, REDIS_DOCKERFILE), None),
        (LOAD_BALANCER_IMAGE, NGINX_DOCKERFILE, digest(base_inputs, NGINX_DOCKERFILE), None),
    ]


def ensure_images(
    client: docker.DockerClient,
    *,
    version: str = DEFAULT_LITELLM_VERSION,
    rebuild: bool = False,
    log: Callable[[str], Any] = print,
) -> dict[str, float]:
    """Build whatever is missing or stale; returns seconds spent per image (0.0 when cached)."""
    timings: dict[str, float] = {}
    base_inputs = digest(SUITE, *BASE_PACKAGES)
    steps: list[tuple[str, str, Callable[[], None]]] = [
        (BASE_IMAGE, base_inputs, lambda: build_base(client, base_inputs)),
    ]
    for tag, dockerfile, inputs, prepare in image_plan(version):
        steps.append((tag, inputs, _builder(client, tag, dockerfile, inputs, prepare)))
    for tag, inputs, build in steps:
        started = time.monotonic()
        if rebuild or not is_current(client, tag, inputs):
            log(f"building {tag}")
            previous = _image_id(client, tag)
            build()
            _drop_if_untagged(client, previous)
        timings[tag] = round(time.monotonic() - started, 1)
        log(f"{tag}: ready ({timings[tag]} s)")
    return timings


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    import docker.errors

    try:
        return str(client.images.get(tag).id)
    except docker.errors.ImageNotFound:
        return None


def _drop_if_untagged(client: docker.DockerClient, image_id: str | None) -> None:
    """A rebuilt tag leaves its previous image behind untagged: remove it (ours alone)."""
    import docker.errors

    if image_id is None:
        return
    try:
        if not client.images.get(image_id).tags:
            client.images.remove(image_id)
    except docker.errors.APIError:
        pass  # gone already, or still used by a container or a child image


def _builder(
    client: docker.DockerClient,
    tag: str,
    dockerfile: str,
    inputs: str,
    prepare: Callable[[Path], None] | None,
) -> Callable[[], None]:
    return lambda: build_from_dockerfile(client, tag, dockerfile, inputs, prepare)


def main(argv: list[str] | None = None) -> int:
    import docker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild even when cached")
    parser.add_argument("--litellm-version", default=DEFAULT_LITELLM_VERSION)
    args = parser.parse_args(argv)
    started = time.monotonic()
    ensure_images(docker.from_env(), version=args.litellm_version, rebuild=args.rebuild)
    print(f"images ready in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
