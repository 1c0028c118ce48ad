"""metrics-server scraping kwok's per-node /metrics/resource, served through an APIService."""

from __future__ import annotations

from pathlib import Path

from .kubehttp import KubeHttp
from .process import ManagedProcess, free_port

APISERVICE = "v1beta1.metrics.k8s.io"


def start_metrics_server(
    bin_dir: Path, kubeconfig: Path, work_dir: Path, log_dir: Path, port: int | None = None
) -> tuple[ManagedProcess, int]:
    """Start metrics-server on 127.0.0.1 (self-signed serving cert; ``port``: a free one by default);
    return it and its port.

    Readiness is checked through the APIService (see `register_apiservice`), not here.
    """
    port = port or free_port()
    proc = ManagedProcess("metrics-server", [
        str(bin_dir / "metrics-server"),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={port}",
        f"--cert-dir={work_dir / 'metrics-server-certs'}",
        "--kubelet-insecure-tls", "--kubelet-use-node-status-port",
        "--kubelet-preferred-address-types=Hostname",
        # Validation: resolution >= 10s and resolution * 0.9 >= kubelet-request-timeout.
        "--metric-resolution=10s", "--kubelet-request-timeout=5s",
    ], log_dir)
    return proc, port


def register_apiservice(kube: KubeHttp, port: int) -> None:
    """An ExternalName Service at 127.0.0.1 (no kube-proxy here) and the APIService pointing at it."""
    kube.apply("/api/v1/namespaces/kube-system/services/metrics-server", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "metrics-server", "namespace": "kube-system"},
        "spec": {"type": "ExternalName", "externalName": "127.0.0.1"},
    })
    kube.apply(f"/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}", {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": APISERVICE},
        "spec": {
            "group": "metrics.k8s.io", "version": "v1beta1",
            "service": {"namespace": "kube-system", "name": "metrics-server", "port": port},
            "insecureSkipTLSVerify": True, "groupPriorityMinimum": 100, "versionPriority": 100,
        },
    })


def apiservice_available(kube: KubeHttp) -> bool:
    obj = kube.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}")
    conditions = obj["status"].get("conditions", [])
    return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)
