"""Driving the operator in e2e tests: `rikugame operator` as a process authenticated as the ServiceAccount of
`rikugame manifests`' role (applied with kubectl exactly as generated, so anything the role lacks fails as
it would in a cluster), and the steps shared by tests that drive the Reconciler in process.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e_workloads import eventually
from kubernetes_asyncio.client import CoreV1Api

from kubeharness.cluster import Cluster
from kubeharness.kubeconfig import write_kubeconfig
from kubeharness.kubectl import kubectl
from rikugame.cluster.names import GROUP, VERSION
from rikugame.manifests.install import NAME, install_objects
from rikugame.manifests.render import to_yaml
from rikugame.operator.reconciler import CycleReport, Reconciler

RBAC_KINDS = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


@dataclass
class OperatorRole:
    """The operator's namespace and a kubeconfig carrying its ServiceAccount token."""

    namespace: str
    kubeconfig: Path
    rbac_file: Path


def apply_operator_role(cluster: Cluster, tmp_path: Path) -> OperatorRole:
    """Apply the generated RBAC in a fresh operator namespace; a kubeconfig with the ServiceAccount token."""
    op_ns = f"op-{uuid.uuid4().hex[:8]}"
    rbac = [o for o in install_objects(namespace=op_ns) if o["kind"] in RBAC_KINDS]
    rbac_file = tmp_path / "rbac.yaml"
    rbac_file.write_text(to_yaml(rbac))
    kubectl(cluster, "apply", "-f", str(rbac_file))
    token = cluster.kube.request(
        "POST", f"/api/v1/namespaces/{op_ns}/serviceaccounts/{NAME}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )["status"]["token"]
    return OperatorRole(op_ns, write_kubeconfig(tmp_path / "operator.kubeconfig", cluster.server, cluster.ca,
                                                token=token), rbac_file)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OperatorProcess:
    """One `rikugame operator` process; its output goes to ``log_path``."""

    def __init__(self, role: OperatorRole, watch_namespace: str, log_path: Path, *extra: str) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rikugame.cli", "operator", "--kubeconfig", str(role.kubeconfig),
             "--namespace", role.namespace, "--watch-namespace", watch_namespace, "--metrics-interval", "5s",
             "--port", str(free_port()), *extra],
            stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def identity_prefix(self) -> str:
        """The start of its Lease identity (hostname-pid)."""
        return f"{socket.gethostname()}-{self.process.pid}"

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` and wait for the exit code (-1 if it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = await asyncio.get_running_loop().run_in_executor(None, self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = -1
        self._log.close()
        return int(code)

    def output(self) -> str:
        """Everything it printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()


def tuner_manifest(name: str, target: str, mode: str, **spec: Any) -> dict[str, Any]:
    """A Tuner of Deployment ``target`` in ``mode`` (extra spec fields as keywords, camelCase)."""
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Tuner", "metadata": {"name": name},
            "spec": {"targetRef": {"kind": "Deployment", "name": target}, "mode": mode, **spec}}


async def running_pod(core: CoreV1Api, namespace: str, app: str) -> Any:
    """A running pod of ``app`` whose container status reports its resources (resizable)."""
    async def probe() -> Any:
        pods = (await core.list_namespaced_pod(namespace, label_selector=f"app={app}")).items
        ready = [p for p in pods if p.status.phase == "Running" and (p.status.container_statuses or [])
                 and p.status.container_statuses[0].resources is not None]
        return ready[0] if ready else None

    return await eventually(probe, f"a running {app} pod reporting its resources", timeout=90)


async def cycle_until(reconciler: Reconciler, done: Callable[[CycleReport], Awaitable[bool]], what: str,
                      timeout: float = 120) -> CycleReport:
    """Run reconcile cycles (none may report an error) until ``done`` holds after one."""
    async def probe() -> CycleReport | None:
        report = await reconciler.cycle()
        assert not report.errors, report.errors
        return report if await done(report) else None

    return await eventually(probe, what, timeout=timeout, interval=2.0)
