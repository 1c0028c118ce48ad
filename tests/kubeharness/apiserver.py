"""The api tier: test PKI, etcd and kube-apiserver with client-certificate auth and RBAC."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from .kubeconfig import write_kubeconfig
from .kubehttp import tls_context
from .pki import CertificateAuthority, CertPair, write_key_pair
from .process import ManagedProcess, free_port

START_TIMEOUT_S = 120.0
SERVING_HOSTS = (
    "localhost", "127.0.0.1", "10.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Pki:
    """Every certificate and key the control plane and the tests use."""

    ca: CertificateAuthority
    serving: CertPair
    admin: CertPair
    service_account: CertPair
    front_proxy_ca: CertificateAuthority
    front_proxy_client: CertPair

    @classmethod
    def create(cls, directory: Path) -> Pki:
        ca = CertificateAuthority(directory, "cluster")
        front_proxy_ca = CertificateAuthority(directory, "front-proxy")
        return cls(
            ca=ca,
            serving=ca.issue("apiserver", "kube-apiserver", hosts=SERVING_HOSTS),
            admin=ca.issue("admin", "admin", organizations=("system:masters",), client=True),
            service_account=write_key_pair(directory, "sa"),
            front_proxy_ca=front_proxy_ca,
            front_proxy_client=front_proxy_ca.issue("front-proxy-client", "front-proxy-client", client=True),
        )


def start_etcd(bin_dir: Path, data_dir: Path, log_dir: Path) -> tuple[ManagedProcess, str]:
    """Start a single-member etcd on loopback with fsync off; return it and its client URL."""
    client_url = f"http://127.0.0.1:{free_port()}"
    peer_url = f"http://127.0.0.1:{free_port()}"
    proc = ManagedProcess("etcd", [
        str(bin_dir / "etcd"), "--name=default", f"--data-dir={data_dir}",
        f"--listen-client-urls={client_url}", f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=default={peer_url}", "--unsafe-no-fsync", "--auto-compaction-retention=1",
        "--log-level=warn",
    ], log_dir)
    proc.wait_ready(lambda: httpx.get(f"{client_url}/health", timeout=2).json()["health"] == "true",
                    START_TIMEOUT_S)
    return proc, client_url


def start_apiserver(
    bin_dir: Path, pki: Pki, etcd_url: str, work_dir: Path, log_dir: Path
) -> tuple[ManagedProcess, str, Path]:
    """Start kube-apiserver on 127.0.0.1 and wait for /readyz; return it, its URL and an admin kubeconfig."""
    port = free_port()
    server = f"https://127.0.0.1:{port}"
    proc = ManagedProcess("kube-apiserver", [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1", f"--secure-port={port}", "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",
        f"--tls-cert-file={pki.serving.cert}", f"--tls-private-key-file={pki.serving.key}",
        f"--client-ca-file={pki.ca.cert_path}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={server}",
        f"--service-account-key-file={pki.service_account.cert}",
        f"--service-account-signing-key-file={pki.service_account.key}",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        # No controller creates the `default` ServiceAccount in the api tier, and kwok pods mount nothing.
        "--disable-admission-plugins=ServiceAccount",
        # Aggregation layer (metrics-server behind an APIService in the e2e tier).
        f"--requestheader-client-ca-file={pki.front_proxy_ca.cert_path}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki.front_proxy_client.cert}",
        f"--proxy-client-key-file={pki.front_proxy_client.key}",
        "--profiling=false",
        f"--cert-dir={work_dir / 'apiserver-certs'}",
    ], log_dir)
    kubeconfig = write_kubeconfig(
        work_dir / "admin.kubeconfig", server, pki.ca.cert_path, cert=(pki.admin.cert, pki.admin.key)
    )

    tls = tls_context(pki.ca.cert_path, (pki.admin.cert, pki.admin.key))

    def ready() -> bool:
        return httpx.get(f"{server}/readyz", verify=tls, timeout=5).status_code == 200

    proc.wait_ready(ready, START_TIMEOUT_S)
    return proc, server, kubeconfig
