"""Finding (and, on demand, building) the Kubernetes binaries through tools/build-k8s."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from .errors import BinariesUnavailable

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "tools" / "build-k8s"


@functools.cache
def binaries_dir() -> Path:
    """The bin directory with etcd, kube-*, kwok, metrics-server and kwok.yaml.

    `RIKUGAME_K8S_BIN` points at a ready directory; otherwise tools/build-k8s runs (seconds when warm,
    a cold build otherwise). `RIKUGAME_K8S_BUILD=0` only accepts an existing build.
    """
    if env := os.environ.get("RIKUGAME_K8S_BIN"):
        return Path(env)
    argv = [str(BUILD_SCRIPT)]
    if os.environ.get("RIKUGAME_K8S_BUILD") == "0":
        argv.append("--check")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BinariesUnavailable(f"cannot run {BUILD_SCRIPT}: {exc}") from exc
    if done.returncode != 0:
        err = "\n".join(done.stderr.splitlines()[-30:])
        raise BinariesUnavailable(f"{BUILD_SCRIPT.name} failed (exit {done.returncode}):\n{err}")
    return Path(done.stdout.strip().splitlines()[-1])
