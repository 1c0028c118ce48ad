"""In-place pod resize (`pods/resize`, GA in 1.35) on a kwok pod.

kwok has no kubelet logic for resize, and the apiserver only accepts a resize for a running pod whose
status.containerStatuses[].resources is set. The harness's Stage (kubeharness/stages/pod-resize.yaml)
sets it, and acknowledges each resize (resources, allocatedResources, observedGeneration) as a kubelet
does when a resize completes.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_workloads import eventually, pod_ready
from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from kubeharness.cluster import Cluster
from kubeharness.kwok import USAGE_CPU

pytestmark = pytest.mark.e2e


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": {USAGE_CPU: "50m"}},
        "spec": {
            "nodeSelector": {"type": "kwok"},
            "containers": [{"name": "app", "image": "registry.invalid/app:1", "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi"},
                "limits": {"cpu": "200m", "memory": "64Mi"},
            }}],
        },
    }


def _resize(cpu_request: str, cpu_limit: str) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "app", "resources": {
        "requests": {"cpu": cpu_request}, "limits": {"cpu": cpu_limit}}}]}}


async def test_in_place_resize_is_accepted_and_acknowledged(
    e2e_cluster: Cluster, kube_api: ApiClient, namespace: str
) -> None:
    core = CoreV1Api(kube_api)
    await core.create_namespaced_pod(namespace, _pod("resizable"))

    async def resizable() -> Any:
        pod = await core.read_namespaced_pod("resizable", namespace)
        statuses = pod.status.container_statuses or []
        return pod if pod_ready(pod) and statuses and statuses[0].resources is not None else None

    before = await eventually(resizable, "Ready kwok pod reporting its resources", timeout=60)
    assert before.status.container_statuses[0].resources.requests["cpu"] == "100m"

    resized = await core.patch_namespaced_pod_resize("resizable", namespace, _resize("150m", "300m"))
    assert resized.spec.containers[0].resources.requests["cpu"] == "150m"
    assert resized.spec.containers[0].resources.limits["cpu"] == "300m"
    assert resized.metadata.generation > before.metadata.generation
    assert resized.metadata.uid == before.metadata.uid, "resized in place, not replaced"

    async def acknowledged() -> Any:
        pod = await core.read_namespaced_pod("resizable", namespace)
        status = pod.status.container_statuses[0]
        done = (pod.status.observed_generation == pod.metadata.generation and status.resources is not None
                and status.resources.requests.get("cpu") == "150m")
        return pod if done else None

    pod = await eventually(acknowledged, "kwok (pod-resize stage) to report the resize done", timeout=30)
    assert pod.status.container_statuses[0].allocated_resources["cpu"] == "150m"
    assert pod_ready(pod)

    # The apiserver still enforces resize rules: requests == limits would turn the Burstable pod
    # Guaranteed, and a resize may not change the QoS class.
    with pytest.raises(ApiException) as refused:
        await core.patch_namespaced_pod_resize("resizable", namespace, _resize("300m", "300m"))
    assert refused.value.status == 422
    assert "qos" in refused.value.body.lower()
