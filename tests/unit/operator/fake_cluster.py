"""An in-memory ClusterAccess for the operator's unit tests (pure logic; the e2e tier runs the real one)."""

from __future__ import annotations

import copy
from typing import Any

from rikugame.errors import FieldConflict, ResizeRefused
from rikugame.operator.reconciler import rfc3339

T0 = 1_780_000_000
NS = "shop"


class FakeCluster:
    """An in-memory ClusterAccess: one Deployment ``web`` with one pod, metrics set by the test."""

    def __init__(self, mode: str = "Auto") -> None:
        self.tuners = [{"metadata": {"namespace": NS, "name": "web", "uid": "t1", "generation": 1},
                        "spec": {"targetRef": {"kind": "Deployment", "name": "web"}, "mode": mode}}]
        self.pod = {"metadata": {"namespace": NS, "name": "web-1", "uid": "p1",
                                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web-rs", "controller": True}]},
                    "spec": {"containers": [{"name": "app", "resources": {
                        "requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}}}]},
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                               "containerStatuses": [{"name": "app", "restartCount": 0}]}}
        self.workload = {"spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}}
        self.metrics: list[dict[str, Any]] | None = []
        self.statuses: list[dict[str, Any]] = []
        self.resizes: list[dict[str, Any]] = []
        self.checkpoints: dict[str, dict[str, Any]] = {}
        self.refuse: ResizeRefused | None = None
        self.killed = False
        self.hpas: list[dict[str, Any]] = []
        self.hpa_writes: list[dict[str, Any]] = []
        self.conflict = False
        self.kubelet = "done"
        self.restarts: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, str, str]] = []

    def usage(self, now: int, cpu: str, memory: str) -> None:
        self.metrics = [{"metadata": {"namespace": NS, "name": "web-1"}, "timestamp": rfc3339(now),
                         "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": memory}}]}]

    async def list_tuners(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.tuners)

    async def list_pods(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.pod)]

    async def replicaset_owners(self) -> dict[tuple[str, str], tuple[str, str]]:
        return {(NS, "web-rs"): ("Deployment", "web")}

    async def list_pod_metrics(self) -> list[dict[str, Any]] | None:
        return copy.deepcopy(self.metrics)

    async def list_workloads(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {(NS, "Deployment", "web"): self.workload}

    async def read_checkpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.checkpoints.get(name)

    async def write_checkpoint(self, namespace: str, name: str, owner: dict[str, Any], data: str) -> None:
        self.checkpoints[name] = {"spec": {"data": data}}

    async def patch_tuner_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.statuses.append(status)

    async def resize_pod(self, namespace: str, name: str, patch: dict[str, Any]) -> int:
        if self.refuse is not None:
            raise self.refuse
        self.resizes.append(patch)
        for c in patch["spec"]["containers"]:
            target = next(x for x in self.pod["spec"]["containers"] if x["name"] == c["name"])
            for section, values in c["resources"].items():
                target["resources"].setdefault(section, {}).update(values)
        meta = self.pod["metadata"]
        meta["generation"] = meta.get("generation", 1) + 1
        self.kubelet_answers()
        return int(meta["generation"])

    def kubelet_answers(self) -> None:
        """What the kubelet does with a resize: apply it at once ("done"), or say why not."""
        status = self.pod["status"]
        status["conditions"] = [c for c in status["conditions"] if not c["type"].startswith("PodResize")]
        if self.kubelet == "done":
            status["observedGeneration"] = self.pod["metadata"]["generation"]
            for s, c in zip(status["containerStatuses"], self.pod["spec"]["containers"], strict=True):
                s["resources"] = copy.deepcopy(c["resources"])
        elif self.kubelet in ("Infeasible", "Deferred"):
            status["conditions"].append({"type": "PodResizePending", "status": "True", "reason": self.kubelet,
                                         "message": "Node didn't have enough capacity: cpu"})

    async def restart_workload(self, namespace: str, kind: str, name: str, stamp: str) -> None:
        self.restarts.append((kind, name, stamp))

    async def emit_event(self, involved: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        self.events.append((reason, message, type_))

    async def list_hpas(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.hpas)

    async def apply_hpa(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        if self.conflict:
            raise FieldConflict("Apply failed with 1 conflict: conflict with \"argocd\": .spec.minReplicas")
        self.hpa_writes.append(body)
        self.hpas = [body]

    async def kill_switch(self, namespace: str, name: str) -> bool:
        return self.killed


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now
