"""The test cluster: brings up the api tier, then (on demand) the e2e tier, and tears both down."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import apiserver, controllers, kwok, metrics
from .errors import HarnessError
from .kubehttp import KubeHttp
from .process import ManagedProcess, tail

NODE_NAMES = ["kwok-node-0", "kwok-node-1", "kwok-node-2"]
E2E_READY_TIMEOUT_S = 180.0


def _wait(what: str, check: Callable[[], bool], timeout: float, interval: float = 1.0) -> None:
    """Poll `check` until it returns True; errors while polling count as "not yet"."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(interval)
    raise HarnessError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last})")


class Cluster:
    """A loopback control plane owned by one pytest session."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.work_dir = Path(tempfile.mkdtemp(prefix="rikugame-k8s-"))
        self.log_dir = self.work_dir / "logs"
        self.log_dir.mkdir()
        self.processes: list[ManagedProcess] = []
        self.e2e_started = False
        self.pki = apiserver.Pki.create(self.work_dir)
        self.server = ""
        self.kubeconfig = self.work_dir / "admin.kubeconfig"
        self._kube: KubeHttp | None = None
        self._etcd_data: Path | None = None
        self._stopped = False
        atexit.register(self.stop, keep_logs=True)

    @property
    def ca(self) -> Path:
        return self.pki.ca.cert_path

    @property
    def kube(self) -> KubeHttp:
        """A synchronous admin client for harness setup."""
        if self._kube is None:
            raise HarnessError("cluster not started")
        return self._kube

    def start_api(self) -> None:
        """etcd + kube-apiserver (RBAC, client-certificate admin in system:masters)."""
        # etcd data on tmpfs when available: startup and writes are faster.
        shm = Path("/dev/shm")
        data_dir = Path(tempfile.mkdtemp(prefix="rikugame-etcd-", dir=shm if shm.is_dir() else None))
        self._etcd_data = data_dir
        etcd, etcd_url = apiserver.start_etcd(self.bin_dir, data_dir, self.log_dir)
        self.processes.append(etcd)
        api, self.server, self.kubeconfig = apiserver.start_apiserver(
            self.bin_dir, self.pki, etcd_url, self.work_dir, self.log_dir
        )
        self.processes.append(api)
        self._kube = KubeHttp(self.server, self.ca, cert=(self.pki.admin.cert, self.pki.admin.key))

    def start_e2e(self) -> None:
        """Controller-manager, scheduler, kwok with fake nodes, metrics-server behind its APIService."""
        if self.e2e_started:
            return
        self.e2e_started = True
        b, kc, logs = self.bin_dir, self.kubeconfig, self.log_dir
        self.processes.append(controllers.start_controller_manager(b, self.pki, kc, logs))
        self.processes.append(controllers.start_scheduler(b, kc, logs))
        self.processes.append(kwok.start_kwok(b, self.pki, kc, self.work_dir, logs))
        ms, ms_port = metrics.start_metrics_server(b, kc, self.work_dir, logs)
        self.processes.append(ms)
        self._metrics_server, self._metrics_port = ms, ms_port
        metrics.register_apiservice(self.kube, ms_port)
        kwok.create_nodes(self.kube, NODE_NAMES)
        _wait("kwok nodes Ready and untainted", self._nodes_ready, E2E_READY_TIMEOUT_S)
        _wait("APIService v1beta1.metrics.k8s.io Available", lambda: metrics.apiservice_available(self.kube),
              E2E_READY_TIMEOUT_S)
        # An empty kwok node reports 0 CPU/memory, and metrics-server drops such nodes, so the
        # node list stays empty until pods run: only check that the aggregated API answers.
        _wait("metrics.k8s.io answering", self._metrics_api_answers, E2E_READY_TIMEOUT_S)

    def stop_metrics_server(self) -> None:
        """Stop metrics-server (its APIService stays registered and turns unavailable)."""
        self._metrics_server.stop()
        self.processes.remove(self._metrics_server)

    def start_metrics_server(self) -> None:
        """Start metrics-server again on its old port and wait until metrics.k8s.io answers."""
        ms, _ = metrics.start_metrics_server(self.bin_dir, self.kubeconfig, self.work_dir, self.log_dir,
                                             self._metrics_port)
        self.processes.append(ms)
        self._metrics_server = ms
        _wait("APIService v1beta1.metrics.k8s.io Available again", lambda: metrics.apiservice_available(self.kube),
              E2E_READY_TIMEOUT_S)
        _wait("metrics.k8s.io answering again", self._metrics_api_answers, E2E_READY_TIMEOUT_S)

    def _nodes_ready(self) -> bool:
        items = self.kube.get("/api/v1/nodes", labelSelector="type=kwok")["items"]
        return len(items) == len(NODE_NAMES) and all(kwok.node_ready(n) for n in items)

    def _metrics_api_answers(self) -> bool:
        return bool(self.kube.get("/apis/metrics.k8s.io/v1beta1/nodes")["kind"] == "NodeMetricsList")

    def log_tails(self, lines: int = 30) -> str:
        """The last lines of every component's log, for failure reports."""
        return "\n".join(
            f"----- {p.name} (pid {p.pid}, {'running' if p.running() else 'exited'}) {p.log_path}\n"
            f"{tail(p.log_path, lines)}"
            for p in self.processes
        )

    def stop(self, keep_logs: bool = False) -> None:
        """Stop components in reverse start order; remove the work dir unless logs should be kept."""
        if self._stopped:
            return
        self._stopped = True
        if self._kube is not None:
            self._kube.close()
        for proc in reversed(self.processes):
            with contextlib.suppress(Exception):
                proc.stop()
        self.processes.clear()
        if self._etcd_data is not None:
            shutil.rmtree(self._etcd_data, ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.work_dir, ignore_errors=True)
