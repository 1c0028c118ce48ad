"""Which in-cluster Service is Prometheus (pure: plain Service dicts in, one choice out).

``rikugame recommend`` without ``--prometheus`` but with a kubeconfig lists the cluster's Services once and
picks Prometheus as Robusta KRR does (robusta-dev/krr robusta_krr/core/integrations/prometheus/
metrics_service/prometheus_metrics_service.py, ``PrometheusDiscovery``; robusta_krr/utils/
service_discovery.py): label selectors tried in a fixed order, the first that matches any Service wins.
KRR's selectors come first, in KRR's order (kube-prometheus-stack's ``app=kube-prometheus-stack-prometheus``
first); then the Prometheus Operator's own names, which KRR does not try: the kube-prometheus manifests'
``app.kubernetes.io/name=prometheus,app.kubernetes.io/component=prometheus`` (Service ``prometheus-k8s``)
and the ``prometheus-operated`` Service the Operator creates for every Prometheus object
(``operated-prometheus=true``). Unlike KRR, which takes the API's first item and the first port, ties are
broken by name (deterministic) and the port named ``http-web``/``web``/``http`` (or 9090) is preferred,
and the answer says which Service, which label and how many other candidates there were.

Reached like KRR: from outside the cluster through the API server's Service proxy
(``{server}/api/v1/namespaces/{ns}/services/{name}:{port}/proxy``), inside it by the Service's DNS name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SELECTORS: tuple[str, ...] = (
    # KRR's PrometheusDiscovery, in its order.
    "app=kube-prometheus-stack-prometheus",
    "app=prometheus,component=server",
    "app=prometheus-server",
    "app=prometheus-operator-prometheus",
    "app=rancher-monitoring-prometheus",
    "app=prometheus-prometheus",
    "app.kubernetes.io/name=prometheus,app.kubernetes.io/component=server",
    "app=stack-prometheus",
    # Prometheus Operator: kube-prometheus' prometheus-k8s, then the operated (headless) Service.
    "app.kubernetes.io/name=prometheus,app.kubernetes.io/component=prometheus",
    "operated-prometheus=true",
)
PORT_NAMES = ("http-web", "web", "http")


@dataclass(frozen=True)
class PrometheusService:
    """The chosen Service: where it is, which port, and why."""

    namespace: str
    name: str
    port: int
    selector: str
    """The label selector it matched."""
    others: tuple[str, ...]
    """Other Services that matched some selector (``namespace/name``), for the message."""

    def url(self, api_server: str | None) -> str:
        """Through the API server's Service proxy (``api_server`` given), else the in-cluster DNS name."""
        if api_server:
            return (f"{api_server.rstrip('/')}/api/v1/namespaces/{self.namespace}/services/"
                    f"{self.name}:{self.port}/proxy")
        return f"http://{self.name}.{self.namespace}.svc:{self.port}"

    def describe(self) -> str:
        """One line: which Service, matched how, and what else matched."""
        more = f"; also matched: {', '.join(self.others[:3])}{' …' if len(self.others) > 3 else ''}" \
            if self.others else ""
        return f"Service {self.namespace}/{self.name} port {self.port} (label {self.selector}{more})"


def matches(labels: dict[str, str], selector: str) -> bool:
    """Whether ``labels`` satisfy an equality selector ``k=v,k2=v2``."""
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def _port(service: dict[str, Any]) -> int | None:
    ports = [p for p in (service.get("spec") or {}).get("ports") or [] if isinstance(p.get("port"), int)]
    if not ports:
        return None
    for wanted in PORT_NAMES:
        for p in ports:
            if p.get("name") == wanted:
                return int(p["port"])
    for p in ports:
        if p["port"] == 9090:
            return 9090
    return int(ports[0]["port"])


def choose(services: Sequence[dict[str, Any]], selectors: Sequence[str] = SELECTORS) -> PrometheusService | None:
    """The Prometheus Service among ``services`` (Kubernetes Service objects as dicts), or None."""
    def key(service: dict[str, Any]) -> str:
        meta = service.get("metadata") or {}
        return f"{meta.get('namespace', '')}/{meta.get('name', '')}"

    candidates = sorted((s for s in services if _port(s) is not None), key=key)
    matched = [s for s in candidates
               if any(matches((s.get("metadata") or {}).get("labels") or {}, sel) for sel in selectors)]
    for selector in selectors:
        for service in candidates:
            if matches((service.get("metadata") or {}).get("labels") or {}, selector):
                meta = service["metadata"]
                port = _port(service)
                assert port is not None
                others = tuple(key(s) for s in matched if s is not service)
                return PrometheusService(meta.get("namespace", ""), meta.get("name", ""), port, selector, others)
    return None
