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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from e2e_workloads import eventually
from kubernetes_asyncio.client import CoreV1Api

from operator_role import OperatorRole
from rikugame.cluster.names import GROUP, VERSION
from rikugame.operator.reconciler import CycleReport, Reconciler


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
