"""kube-controller-manager (HPA sync sped up for tests) and kube-scheduler."""

from __future__ import annotations

from pathlib import Path

import httpx

from .apiserver import START_TIMEOUT_S, Pki
from .process import ManagedProcess, free_port

# HPA timings shortened from the defaults (15s sync, 5m cpu-init, 30s readiness delay, 5m stabilization).
HPA_FLAGS = (
    "--horizontal-pod-autoscaler-sync-period=5s",
    "--horizontal-pod-autoscaler-cpu-initialization-period=10s",
    "--horizontal-pod-autoscaler-initial-readiness-delay=5s",
    "--horizontal-pod-autoscaler-downscale-stabilization=15s",
    "--horizontal-pod-autoscaler-tolerance=0.1",
)


def _healthz(port: int) -> bool:
    return httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=2).status_code == 200


def _common(kubeconfig: Path, port: int) -> list[str]:
    return [
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}", "--leader-elect=false",
        "--bind-address=127.0.0.1", f"--secure-port={port}", "--kube-api-qps=100", "--kube-api-burst=200",
    ]


def start_controller_manager(bin_dir: Path, pki: Pki, kubeconfig: Path, log_dir: Path) -> ManagedProcess:
    """Start kube-controller-manager with all default controllers (incl. node-lifecycle and HPA)."""
    port = free_port()
    proc = ManagedProcess("kube-controller-manager", [
        str(bin_dir / "kube-controller-manager"), *_common(kubeconfig, port),
        f"--service-account-private-key-file={pki.service_account.key}",
        f"--root-ca-file={pki.ca.cert_path}",
        *HPA_FLAGS,
    ], log_dir)
    proc.wait_ready(lambda: _healthz(port), START_TIMEOUT_S)
    return proc


def start_scheduler(bin_dir: Path, kubeconfig: Path, log_dir: Path) -> ManagedProcess:
    """Start kube-scheduler with the default profile."""
    port = free_port()
    proc = ManagedProcess(
        "kube-scheduler", [str(bin_dir / "kube-scheduler"), *_common(kubeconfig, port)], log_dir
    )
    proc.wait_ready(lambda: _healthz(port), START_TIMEOUT_S)
    return proc
