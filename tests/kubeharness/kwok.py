"""kwok: fake nodes that turn Ready, pods that run, and a kubelet-like /metrics/resource per node.

Pod CPU/memory usage comes from the pod annotations `kwok.x-k8s.io/usage-cpu|memory` (the
`usage-from-annotation` ClusterResourceUsage in kwok.yaml, assembled by tools/build-k8s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from .apiserver import START_TIMEOUT_S, Pki
from .kubehttp import KubeHttp
from .process import ManagedProcess, free_port

MANAGED_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
USAGE_CPU = "kwok.x-k8s.io/usage-cpu"
USAGE_MEMORY = "kwok.x-k8s.io/usage-memory"
EXTRA_STAGES = Path(__file__).with_name("stages")


def start_kwok(bin_dir: Path, pki: Pki, kubeconfig: Path, work_dir: Path, log_dir: Path) -> ManagedProcess:
    """Start kwok managing nodes annotated kwok.x-k8s.io/node=fake; its server doubles as their kubelet."""
    port = free_port()
    serving = pki.ca.issue("kwok", "kwok", hosts=("localhost", "127.0.0.1"))
    configs = [bin_dir / "kwok.yaml", *sorted(EXTRA_STAGES.glob("*.yaml"))]
    proc = ManagedProcess("kwok", [
        str(bin_dir / "kwok"), f"--kubeconfig={kubeconfig}",
        *(f"--config={c}" for c in configs),
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={MANAGED_ANNOTATION[0]}={MANAGED_ANNOTATION[1]}",
        # Every fake node's Hostname address is "localhost" and its kubelet port is this server.
        "--node-name=localhost", f"--node-port={port}", f"--server-address=127.0.0.1:{port}",
        f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
        "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16",
    ], log_dir)
    proc.wait_ready(
        lambda: httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=2).status_code == 200,
        START_TIMEOUT_S,
    )
    return proc


def node_manifest(name: str, cpu: str = "32", memory: str = "256Gi", pods: str = "110") -> dict[str, Any]:
    """A Node for kwok to manage; create keeps the status we send (capacity and allocatable)."""
    resources = {"cpu": cpu, "memory": memory, "pods": pods}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                MANAGED_ANNOTATION[0]: MANAGED_ANNOTATION[1],
                "metrics.k8s.io/resource-metrics-path": f"/metrics/nodes/{name}/metrics/resource",
            },
            "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
        },
        "status": {"capacity": resources, "allocatable": resources},
    }


def node_ready(node: dict[str, Any]) -> bool:
    """Ready condition True and no not-ready/unreachable taint left (node-lifecycle lifts those)."""
    conditions = node.get("status", {}).get("conditions") or []
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    taints = node.get("spec", {}).get("taints") or []
    return ready and not any(t["key"].startswith("node.kubernetes.io/") for t in taints)


def create_nodes(kube: KubeHttp, names: list[str]) -> None:
    for name in names:
        kube.create("/api/v1/nodes", node_manifest(name), exist_ok=True)
