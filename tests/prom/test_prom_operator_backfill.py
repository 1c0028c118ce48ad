"""``rikugame operator --prometheus``: a new Tuner starts from its workload's past usage, read from a real
Prometheus through the report's own discovery and usage queries (cluster side in memory: the claim here is
the Prometheus read; the operator's cluster side is covered by the e2e tier)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from prom_env import END, PromServer

from rikugame.operator.reconciler import Reconciler
from rikugame.operator.settings import OperatorSettings
from rikugame.sources.history import PrometheusHistory
from rikugame.sources.prometheus import PrometheusClient, PrometheusSettings

pytestmark = pytest.mark.prom
HISTORY = 3 * 86400


class Cluster:
    """One Tuner on Deployment shop/web, one ready pod of it, no pod metrics yet (just installed)."""

    def __init__(self) -> None:
        self.statuses: list[dict[str, Any]] = []
        self.pod = {"metadata": {"namespace": "shop", "name": "web-5d8f7c9b6-zzzzz", "uid": "p1",
                                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f7c9b6",
                                                      "controller": True}]},
                    "spec": {"containers": [{"name": "app", "resources": {
                        "requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}}]},
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                               "containerStatuses": [{"name": "app", "restartCount": 0}]}}

    async def list_tuners(self) -> list[dict[str, Any]]:
        return [{"metadata": {"namespace": "shop", "name": "web", "uid": "t1", "generation": 1},
                 "spec": {"targetRef": {"kind": "Deployment", "name": "web"}, "mode": "Off"}}]

    async def list_pods(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.pod)]

    async def replicaset_owners(self) -> dict[tuple[str, str], tuple[str, str]]:
        return {("shop", "web-5d8f7c9b6"): ("Deployment", "web")}

    async def list_pod_metrics(self) -> list[dict[str, Any]] | None:
        return []

    async def list_workloads(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {("shop", "Deployment", "web"): {"spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}}}

    async def read_checkpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    async def write_checkpoint(self, namespace: str, name: str, owner: dict[str, Any], data: str) -> None:
        pass

    async def patch_tuner_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.statuses.append(status)

    async def emit_event(self, involved: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        pass

    async def list_hpas(self) -> list[dict[str, Any]]:
        return []

    async def kill_switch(self, namespace: str, name: str) -> bool:
        return False


async def test_a_new_tuner_is_backfilled_from_prometheus_and_recommends_above_the_raw_peak(
        prometheus: PromServer) -> None:
    async with PrometheusClient(PrometheusSettings(prometheus.url)) as prom:
        cluster = Cluster()
        backfilled = Reconciler(cluster, OperatorSettings(), clock=lambda: float(END),  # type: ignore[arg-type]
                                history=PrometheusHistory(prom, history_seconds=HISTORY))
        report = await backfilled.cycle()
        assert not report.errors, report.errors
    empty = Reconciler(Cluster(), OperatorSettings(), clock=lambda: float(END))  # type: ignore[arg-type]
    await empty.cycle()

    tuning = backfilled.tuners[("shop", "web")].tuning
    assert empty.tuners[("shop", "web")].tuning.vertical.recommender.coverage.count[0] == 0
    web = [p for p in prometheus.pods if (p.namespace, p.workload) == ("shop", "web")]
    window = [(p.sample_times() > END - HISTORY) & (p.sample_times() <= END) for p in web]
    samples = sum(int(w.sum()) for w in window)
    seen = int(tuning.vertical.recommender.coverage.count[0])
    assert seen >= 0.9 * samples / len(web), (seen, samples)  # every minute of the history (pods overlap)
    # Independent reference from the raw series: the workload's memory peak over the window.
    peak = max(float(np.nanmax(p.memory_bytes[w], initial=0.0)) for p, w in zip(web, window, strict=True))
    status = cluster.statuses[-1]
    decided = tuning.decide(END)
    proposed = decided.containers[0].proposed_memory_bytes
    assert peak <= proposed <= 3 * peak, (proposed, peak)
    assert status["phase"] == "Recommending" and status["containers"][0]["recommended"]["memory"] != "1Gi"
