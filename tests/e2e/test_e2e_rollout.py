"""A changed pod template (new CPU request, as rikugame would set) rolls out new Ready kwok pods."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_workloads import deployment, eventually, pod_ready
from kubernetes_asyncio.client import ApiClient, AppsV1Api, CoreV1Api

from kubeharness.cluster import Cluster

pytestmark = pytest.mark.e2e

NAME = "api"


async def test_template_change_rolls_out_ready_pods(
    e2e_cluster: Cluster, kube_api: ApiClient, namespace: str
) -> None:
    apps, core = AppsV1Api(kube_api), CoreV1Api(kube_api)
    await apps.create_namespaced_deployment(namespace, deployment(NAME, replicas=2, cpu_request="100m"))

    async def ready_pods(cpu: str) -> Any:
        pods = (await core.list_namespaced_pod(namespace, label_selector=f"app={NAME}")).items
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        ok = len(live) == 2 and all(
            pod_ready(p) and p.spec.containers[0].resources.requests["cpu"] == cpu and p.spec.node_name
            for p in live
        )
        return live if ok else None

    before = await eventually(lambda: ready_pods("100m"), "2 Ready pods at 100m", timeout=60)

    await apps.patch_namespaced_deployment(NAME, namespace, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"requests": {"cpu": "150m"}}}]}}}})

    async def rolled_out() -> Any:
        dep = await apps.read_namespaced_deployment(NAME, namespace)
        s = dep.status
        done = (s.observed_generation == dep.metadata.generation and s.updated_replicas == 2
                and s.ready_replicas == 2 and s.available_replicas == 2 and not s.unavailable_replicas
                and (s.replicas or 0) == 2)
        return dep if done else None

    await eventually(rolled_out, "rollout of the new template", timeout=90)
    after = await eventually(lambda: ready_pods("150m"), "2 Ready pods at 150m", timeout=30)
    assert not {p.metadata.name for p in after} & {p.metadata.name for p in before}
    assert {p.status.phase for p in after} == {"Running"}
