"""Manifests and polling helpers shared by the e2e tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from kubeharness.kwok import USAGE_CPU, USAGE_MEMORY

T = TypeVar("T")


def deployment(name: str, *, replicas: int = 1, cpu_request: str = "100m", usage_cpu: str = "90m",
               cpu_limit: str | None = None) -> dict[str, Any]:
    """A one-container Deployment whose kwok pods report `usage_cpu` (pod annotation)."""
    resources: dict[str, Any] = {"requests": {"cpu": cpu_request, "memory": "64Mi"},
                                 "limits": {"memory": "64Mi"}}
    if cpu_limit:
        resources["limits"]["cpu"] = cpu_limit
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": {USAGE_CPU: usage_cpu}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "registry.invalid/app:1", "resources": resources}
                    ],
                    "nodeSelector": {"type": "kwok"},
                },
            },
        },
    }


def oversized_deployment(name: str) -> dict[str, Any]:
    """A one-pod Deployment asking for 500m / 64Mi whose kwok pod uses 100m / 40Mi: a Tuner shrinks its CPU
    (by the 30 % step: 350m) and raises its memory (40Mi peak + headroom: 80Mi)."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name},
                                           "annotations": {USAGE_CPU: "100m", USAGE_MEMORY: "40Mi"}},
                              "spec": {"nodeSelector": {"type": "kwok"}, "containers": [{
                                  "name": "app", "image": "registry.invalid/app:1",
                                  "resources": {"requests": {"cpu": "500m", "memory": "64Mi"},
                                                "limits": {"memory": "64Mi"}}}]}}},
    }


def hpa(name: str, *, min_replicas: int, max_replicas: int, target_percent: int,
        behavior: dict[str, Any]) -> dict[str, Any]:
    """An autoscaling/v2 HPA on the Deployment ``name``, one CPU Utilization metric."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target_percent}}}],
            "behavior": behavior,
        },
    }


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float,
                     interval: float = 1.0) -> T:
    """Await `probe` until it returns a truthy value, which is returned; fail after `timeout` seconds."""
    last: T | None = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                last = await probe()
                if last:
                    return last
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}") from None


def pod_ready(pod: Any) -> bool:
    """Running, Ready and not being deleted."""
    conditions = pod.status.conditions or []
    return (pod.metadata.deletion_timestamp is None and pod.status.phase == "Running"
            and any(c.type == "Ready" and c.status == "True" for c in conditions))
