"""`rikugame operator` as a process authenticated as the ServiceAccount of `rikugame manifests`' role.

The RBAC objects are applied with kubectl exactly as generated; the process gets a kubeconfig with that
ServiceAccount's token, so anything the role lacks fails as it would in a cluster.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from kubeharness.cluster import Cluster
from kubeharness.kubeconfig import write_kubeconfig
from kubeharness.kubectl import kubectl
from rikugame.manifests.install import NAME, install_objects
from rikugame.manifests.render import to_yaml

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
