"""KubeAccess against the real API server: every refusal reaches the caller (kubernetes_asyncio checks the
status only of preloaded responses, so KubeAccess checks it itself); an SSA conflict is a FieldConflict."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient, AutoscalingV2Api
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import new_client_from_config

from kubeharness.cluster import Cluster
from kubeharness.kubeconfig import write_kubeconfig
from rikugame.cluster.kube_access import KubeAccess
from rikugame.errors import FieldConflict, ResizeRefused

pytestmark = pytest.mark.api


def _hpa(min_replicas: int) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": min_replicas, "maxReplicas": 10}}


async def test_a_field_another_manager_owns_is_a_field_conflict_not_a_silent_success(
        kube_api: ApiClient, namespace: str) -> None:
    api = AutoscalingV2Api(kube_api)
    await api.patch_namespaced_horizontal_pod_autoscaler(  # GitOps owns minReplicas
        "web", namespace, _hpa(2), field_manager="argocd", _content_type="application/apply-patch+yaml")
    access = KubeAccess(kube_api)
    with pytest.raises(FieldConflict) as conflict:
        await access.apply_hpa(namespace, "web", _hpa(5))
    assert "argocd" in conflict.value.message
    hpa = await api.read_namespaced_horizontal_pod_autoscaler("web", namespace)
    assert hpa.spec.min_replicas == 2, "not overwritten"


async def test_a_refused_resize_raises_resize_refused(kube_api: ApiClient, namespace: str) -> None:
    from kubernetes_asyncio.client import CoreV1Api

    guaranteed = {"cpu": "100m", "memory": "64Mi"}
    await CoreV1Api(kube_api).create_namespaced_pod(namespace, {
        "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x", "resources": {
            "requests": guaranteed, "limits": guaranteed}}]}})
    with pytest.raises(ResizeRefused) as refused:  # requests below limits: Guaranteed → Burstable
        await KubeAccess(kube_api).resize_pod(namespace, "p", {"spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": "50m"}}}]}})
    assert refused.value.status == 422 and "qos" in refused.value.message.lower()


async def test_a_forbidden_list_raises_instead_of_looking_empty(k8s_cluster: Cluster, namespace: str,
                                                                tmp_path: Path) -> None:
    account = f"nobody-{uuid.uuid4().hex[:6]}"
    k8s_cluster.kube.create(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": account}})
    token = k8s_cluster.kube.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
    )["status"]["token"]
    kubeconfig = write_kubeconfig(tmp_path / "nobody.kubeconfig", k8s_cluster.server, k8s_cluster.ca, token=token)
    client = await new_client_from_config(config_file=str(kubeconfig))
    async with client:
        access = KubeAccess(client)
        for call in (access.list_pods, access.list_hpas, access.list_workloads, access.replicaset_owners):
            with pytest.raises(ApiException) as forbidden:
                await call()
            assert forbidden.value.status == 403, call.__name__
