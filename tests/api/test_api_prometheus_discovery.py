"""``rikugame recommend`` without ``--prometheus``: the Prometheus Service is found through a real API server."""

from __future__ import annotations

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api

from rikugame.commands.recommend_kube import discover

pytestmark = pytest.mark.api


def _service(name: str, labels: dict[str, str], ports: list[tuple[str, int]]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
            "spec": {"ports": [{"name": n, "port": p} for n, p in ports], "selector": {"app": name}}}


async def test_kube_prometheus_stack_service_is_found_and_reached_through_the_api_proxy(
        kube_api: ApiClient, namespace: str, k8s_cluster: object) -> None:
    core = CoreV1Api(kube_api)
    await core.create_namespaced_service(namespace, _service(
        "prometheus-operated", {"operated-prometheus": "true"}, [("web", 9090)]))
    await core.create_namespaced_service(namespace, _service(
        "kps-kube-prometheus-stack-prometheus", {"app": "kube-prometheus-stack-prometheus"},
        [("http-web", 9090), ("reloader-web", 8080)]))
    await core.create_namespaced_service(namespace, _service(
        "kps-grafana", {"app.kubernetes.io/name": "grafana"}, [("http-web", 80)]))

    found = await discover(k8s_cluster.kubeconfig)  # type: ignore[attr-defined]

    assert (found.service.namespace, found.service.name, found.service.port) == (
        namespace, "kps-kube-prometheus-stack-prometheus", 9090)
    assert found.url.endswith(f"/api/v1/namespaces/{namespace}/services/kps-kube-prometheus-stack-prometheus:9090"
                              "/proxy")
    assert found.url.startswith("https://")
    assert found.bearer_token or found.client_cert  # the kubeconfig's credentials go with the queries
    assert f"{namespace}/prometheus-operated" in found.service.others
    assert "label app=kube-prometheus-stack-prometheus" in found.describe()
