"""kubectl (built by tools/build-k8s next to the control plane) as the harness admin."""

from __future__ import annotations

import subprocess

from .binaries import binaries_dir
from .cluster import Cluster
from .errors import HarnessError


def kubectl(cluster: Cluster, *args: str, stdin: str | None = None, timeout: float = 60.0) -> str:
    """Run kubectl with the admin kubeconfig; its stdout, or HarnessError with its stderr."""
    binary = binaries_dir() / "kubectl"
    if not binary.exists():
        raise HarnessError(f"{binary} missing: run tools/build-k8s (it builds kubectl into the cached bin/)")
    done = subprocess.run([str(binary), f"--kubeconfig={cluster.kubeconfig}", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise HarnessError(f"kubectl {' '.join(args)} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout
