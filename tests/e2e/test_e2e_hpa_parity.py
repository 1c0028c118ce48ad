"""The simulated HPA (rikugame.sim.hpa) and the real kube-controller-manager agree on one scenario.

Both are driven by the same load script: a total CPU demand that the Deployment's ready pods share
equally (the service model of the horizontal backtest), with the same HPA spec (target 50 %, 1–8
replicas, scale-up at most +2 pods per 15 s, scale-down at most −50 % per 15 s after a 20 s window).
The real side runs kwok pods whose usage annotation a background task keeps at demand / ready pods;
metrics-server serves it to the real HPA controller. The sim side replays the same script through
``HPAController.sync`` at the harness's 5 s sync period with pods ready 10 s after creation.

What must agree: the replica count each step settles at (scale-up under the Pods policy, scale-down under
the Percent policy and window, *no* change inside the 10 % tolerance, the maxReplicas clamp), and both
trajectories obey the scale-up policy. Timings differ (metrics-server scrapes every 10 s), so the
intermediate counts are not compared one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_workloads import deployment, eventually, hpa, pod_ready
from kubernetes_asyncio.client import ApiClient, AppsV1Api, AutoscalingV2Api, CoreV1Api

from kubeharness.cluster import Cluster
from kubeharness.kwok import USAGE_CPU
from rikugame.core.horizontal.hpa import Behavior, HPASettings, PolicyType, ScalingPolicy, ScalingRules
from rikugame.sim.hpa import HPAController, MetricSample, PodMetric, SyncInput

pytestmark = pytest.mark.e2e

NAME = "parity"
REQUEST_MILLICORES = 100
SETTINGS = HPASettings(
    target_utilization_percent=50, min_replicas=1, max_replicas=8,
    behavior=Behavior(
        scale_up=ScalingRules((ScalingPolicy(PolicyType.PODS, 2, 15),), stabilization_window_seconds=0),
        scale_down=ScalingRules((ScalingPolicy(PolicyType.PERCENT, 50, 15),), stabilization_window_seconds=20),
    ),
)


@dataclass(frozen=True)
class Step:
    """Total demand (millicores) for this step, and what we expect the HPA to settle at."""

    demand_millicores: int
    expected_replicas: int
    why: str


SCRIPT = (
    Step(300, 6, "300m over 50 % of 100m pods: 6, reached +2 per 15 s: 1, 3, 5 (at 60 %), 6"),
    Step(120, 3, "6 pods at 20 %: ceil(6 × 0.4) = 3, allowed at once by −50 %; then 40 %: ceil(2.4) = 3"),
    Step(160, 3, "3 pods at 53 %: ratio 1.07 is inside the 10 % tolerance, nothing moves"),
    Step(400, 8, "3 pods at 133 %: ceil(8.0) = 8 = maxReplicas, reached 3, 5, 7, 8"),
)
SYNC_SECONDS = 5  # tests/kubeharness/controllers.py: --horizontal-pod-autoscaler-sync-period=5s
READY_AFTER_SECONDS = 10


def _hpa_manifest() -> dict[str, Any]:
    up, down = SETTINGS.behavior.scale_up, SETTINGS.behavior.scale_down

    def rules(r: ScalingRules) -> dict[str, Any]:
        return {"stabilizationWindowSeconds": r.stabilization_window_seconds,
                "policies": [{"type": p.type.value, "value": p.value, "periodSeconds": p.period_seconds}
                             for p in r.policies]}

    return hpa(NAME, min_replicas=SETTINGS.min_replicas, max_replicas=SETTINGS.max_replicas,
               target_percent=SETTINGS.target_utilization_percent,
               behavior={"scaleUp": rules(up), "scaleDown": rules(down)})


def simulate() -> tuple[list[int], list[tuple[int, int]]]:
    """The sim's settled replica count per step, and its trajectory [(t, replicas)]."""
    controller = HPAController()
    created = [0]  # creation time of each pod
    now = 0
    trajectory = [(0, 1)]
    settled: list[int] = []
    for step in SCRIPT:
        stable_since = now
        while now - stable_since < 120:  # run each step until nothing changed for 2 minutes
            now += SYNC_SECONDS
            ready = sum(1 for c in created if now - c >= READY_AFTER_SECONDS)
            per_pod = step.demand_millicores / ready if ready else 0.0
            pods = [PodMetric(now - c >= READY_AFTER_SECONDS, per_pod if now - c >= READY_AFTER_SECONDS else None,
                              REQUEST_MILLICORES) for c in created]
            sample = MetricSample.from_pods(SETTINGS.target_utilization_percent, pods)
            desired = controller.sync(SETTINGS, SyncInput(now, len(created), [sample])).desired_replicas
            if desired != len(created):
                trajectory.append((now, desired))
                stable_since = now
                if desired > len(created):
                    created += [now] * (desired - len(created))
                else:  # the ReplicaSet removes the youngest (not-ready first)
                    created = sorted(created)[:desired]
        settled.append(len(created))
    return settled, trajectory


def added_within(trajectory: list[tuple[float, int]], window: float) -> int:
    """The most pods added inside any window of ``window`` seconds (ending at a change)."""
    steps = [(u, max(r - p, 0)) for (_, p), (u, r) in itertools.pairwise(trajectory)]
    return max((sum(a for u, a in steps if t - window < u <= t) for t, _ in steps), default=0)


def test_sim_settles_where_the_rules_say() -> None:
    settled, trajectory = simulate()
    assert settled == [s.expected_replicas for s in SCRIPT], (settled, trajectory)
    assert added_within(trajectory, 15 - 1e-9) <= 2, trajectory


async def test_real_controller_matches_the_sim(e2e_cluster: Cluster, kube_api: ApiClient, namespace: str) -> None:
    sim_settled, _ = simulate()
    apps, core, autoscaling = AppsV1Api(kube_api), CoreV1Api(kube_api), AutoscalingV2Api(kube_api)
    demand = {"millicores": SCRIPT[0].demand_millicores}
    await apps.create_namespaced_deployment(namespace, deployment(
        NAME, cpu_request=f"{REQUEST_MILLICORES}m", usage_cpu=f"{SCRIPT[0].demand_millicores}m"))
    await autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, _hpa_manifest())
    start = time.monotonic()
    trajectory: list[tuple[float, int]] = [(0.0, 1)]

    async def share_load() -> None:
        """Keep every ready pod's usage at demand / ready pods, a not-ready pod's at 0 (as in the sim)."""
        while True:
            pods = (await core.list_namespaced_pod(namespace, label_selector=f"app={NAME}")).items
            live = [p for p in pods if p.metadata.deletion_timestamp is None]
            ready = [p for p in live if pod_ready(p)]
            per_pod = f"{round(demand['millicores'] / len(ready))}m" if ready else "0m"
            for pod in live:
                want = per_pod if pod in ready else "0m"
                if (pod.metadata.annotations or {}).get(USAGE_CPU) != want:
                    with contextlib.suppress(Exception):  # a pod deleted meanwhile
                        await core.patch_namespaced_pod(pod.metadata.name, namespace,
                                                        {"metadata": {"annotations": {USAGE_CPU: want}}})
            dep = await apps.read_namespaced_deployment(NAME, namespace)
            if dep.spec.replicas != trajectory[-1][1]:
                trajectory.append((time.monotonic() - start, dep.spec.replicas))
            await asyncio.sleep(1)

    async def replicas() -> int:
        return int(trajectory[-1][1])

    async def hold(expected: int, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert await replicas() == expected, f"{what}: moved to {await replicas()}; {trajectory}"
            await asyncio.sleep(1)

    loader = asyncio.create_task(share_load())
    try:
        real_settled: list[int] = []
        for step, sim_value in zip(SCRIPT, sim_settled, strict=True):
            demand["millicores"] = step.demand_millicores
            changed_at = time.monotonic() - start
            if step.expected_replicas == trajectory[-1][1]:
                # Nothing may move: hold long enough for several scrapes and syncs.
                await hold(step.expected_replicas, 45, step.why)
            else:
                # Generous: on a loaded 2-core machine metrics-server's scrapes of new pods lag (timed out
                # once at 180 s with three backtests running beside CI); the settled values are what is checked.
                try:
                    await eventually(lambda e=step.expected_replicas: _at(replicas, e), step.why, timeout=300)
                except AssertionError as exc:
                    raise AssertionError(f"{exc}; trajectory {trajectory}") from None
                await hold(step.expected_replicas, 25, f"settled at {step.expected_replicas}, then: {step.why}")
            real_settled.append(await replicas())
            print(f"step {step.demand_millicores}m: settled at {real_settled[-1]} (sim {sim_value}), "
                  f"{time.monotonic() - start - changed_at:.0f} s; trajectory {trajectory}")
        assert real_settled == sim_settled
        assert added_within(trajectory, 14) <= 2, f"more than +2 pods within 15 s: {trajectory}"
    finally:
        loader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loader


async def _at(replicas: Any, expected: int) -> bool:
    return bool(await replicas() == expected)
