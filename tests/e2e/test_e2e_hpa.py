"""The real HPA controller scales a Deployment on kwok-simulated usage served by metrics-server."""

from __future__ import annotations

import time
from typing import Any

import pytest
from e2e_workloads import deployment, eventually, hpa, pod_ready
from kubernetes_asyncio.client import ApiClient, AppsV1Api, AutoscalingV2Api, CoreV1Api

from kubeharness.cluster import Cluster
from kubeharness.kwok import USAGE_CPU

pytestmark = pytest.mark.e2e

NAME = "web"


def _hpa() -> dict[str, Any]:
    # At most +1 pod per minute, so the test can observe the first step (1 -> 2) and lower the load
    # before the controller would take the next one.
    return hpa(NAME, min_replicas=1, max_replicas=5, target_percent=50, behavior={
        "scaleUp": {"stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
        "scaleDown": {"stabilizationWindowSeconds": 0},
    })


async def test_hpa_scales_up_on_usage_and_back_down(
    e2e_cluster: Cluster, kube_api: ApiClient, namespace: str
) -> None:
    apps, core, autoscaling = AppsV1Api(kube_api), CoreV1Api(kube_api), AutoscalingV2Api(kube_api)
    await apps.create_namespaced_deployment(namespace, deployment(NAME, usage_cpu="90m"))
    await autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, _hpa())
    start = time.monotonic()

    async def replicas_at(n: int) -> Any:
        dep = await apps.read_namespaced_deployment(NAME, namespace)
        return dep if dep.spec.replicas == n else None

    # 90m used of 100m requested = 90 % against a 50 % target: ceil(1 * 90 / 50) = 2.
    await eventually(lambda: replicas_at(2), "HPA scale-up to 2 replicas", timeout=120)
    print(f"scale-up to 2 after {time.monotonic() - start:.0f} s")
    hpa = await autoscaling.read_namespaced_horizontal_pod_autoscaler(NAME, namespace)
    utilization = hpa.status.current_metrics[0].resource.current.average_utilization
    assert utilization is not None and utilization >= 80, f"HPA saw {utilization} % CPU, expected ~90 %"

    async def two_ready_pods() -> Any:
        pods = (await core.list_namespaced_pod(namespace, label_selector=f"app={NAME}")).items
        ready = [p for p in pods if pod_ready(p)]
        return ready if len(ready) == 2 else None

    pods = await eventually(two_ready_pods, "2 Ready kwok pods", timeout=60)
    # Load drops: 10m each is 10 % utilization, so the HPA wants ceil(2 * 10 / 50) = 1.
    for pod in pods:
        await core.patch_namespaced_pod(
            pod.metadata.name, namespace, {"metadata": {"annotations": {USAGE_CPU: "10m"}}}
        )
    lowered = time.monotonic()
    await eventually(lambda: replicas_at(1), "HPA scale-down to 1 replica", timeout=120)
    print(f"scale-down to 1 after {time.monotonic() - lowered:.0f} s")
    hpa = await autoscaling.read_namespaced_horizontal_pod_autoscaler(NAME, namespace)
    assert hpa.status.desired_replicas == 1
