"""``rikugame recommend`` without ``--prometheus``: find Prometheus through the Kubernetes API (as KRR does).

The kubeconfig is ``--kubeconfig``, else ``$KUBECONFIG``, else ``~/.kube/config``; inside a pod without
any, the in-cluster service account. The Services are listed once (``cluster.kube_access``), the choice is
``sources.prometheus_discovery.choose`` (pure), and the queries then go through the API server's Service
proxy with the kubeconfig's credentials (token, client certificate, CA) — or, in the cluster, straight
to the Service's DNS name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rikugame.errors import InputError, one_line
from rikugame.sources.prometheus_discovery import SELECTORS, PrometheusService, choose

IN_CLUSTER = "in-cluster"


def find_kubeconfig(flag: Path | None) -> Path | str | None:
    """The kubeconfig to use (a path, or IN_CLUSTER), or None when there is none."""
    if flag is not None:
        if not flag.is_file():
            raise InputError(f"--kubeconfig {flag}: no such file")
        return flag
    for entry in (os.environ.get("KUBECONFIG") or "").split(os.pathsep):
        if entry and Path(entry).expanduser().is_file():
            return Path(entry).expanduser()
    default = Path.home() / ".kube" / "config"
    if default.is_file():
        return default
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return IN_CLUSTER
    return None


@dataclass(frozen=True)
class Found:
    """Where Prometheus is and how to authenticate there."""

    service: PrometheusService
    url: str
    bearer_token: str | None
    verify: bool | str
    client_cert: tuple[str, str] | None
    via: str
    """``the API server https://…`` or ``the cluster DNS``, for the message."""

    def describe(self) -> str:
        """The line ``recommend`` prints: which Prometheus it uses."""
        return f"using Prometheus {self.service.describe()} through {self.via}"


async def discover(kubeconfig: Path | str) -> Found:
    """List the Services with the kubeconfig's credentials and choose Prometheus; InputError if none."""
    from kubernetes_asyncio import config
    from kubernetes_asyncio.client import ApiClient, Configuration
    from kubernetes_asyncio.client.exceptions import ApiException

    from rikugame.cluster.kube_access import KubeAccess

    where = "the in-cluster service account" if kubeconfig == IN_CLUSTER else str(kubeconfig)
    cfg = Configuration()
    try:
        if kubeconfig == IN_CLUSTER:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        else:
            await config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    except (config.ConfigException, OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"--kubeconfig {where}: cannot load it: {one_line(exc)}") from exc
    async with ApiClient(cfg) as api:
        try:
            services = await KubeAccess(api).list_services()
        except ApiException as exc:
            raise InputError(f"cannot list Services with {where} (HTTP {exc.status} {exc.reason}) to find "
                             "Prometheus; pass --prometheus URL") from exc
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the API server {cfg.host} of {where} ({one_line(exc)}) to find "
                             "Prometheus; pass --prometheus URL") from exc
    service = choose(services)
    if service is None:
        raise InputError(f"no Prometheus Service found with {where} ({len(services)} Services; labels tried: "
                         f"{', '.join(SELECTORS[:3])}, …); pass --prometheus URL")
    if kubeconfig == IN_CLUSTER:
        return Found(service, service.url(None), None, True, None, "the cluster DNS")
    token = cfg.api_key.get("BearerToken") or cfg.api_key.get("authorization")
    if token and token.lower().startswith("bearer "):
        token = token[7:]
    verify: bool | str = (cfg.ssl_ca_cert or True) if cfg.verify_ssl else False
    cert = (cfg.cert_file, cfg.key_file) if cfg.cert_file and cfg.key_file else None
    return Found(service, service.url(cfg.host), token or None, verify, cert, f"the API server {cfg.host}")
