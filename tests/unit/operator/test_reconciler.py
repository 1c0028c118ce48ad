"""The operator's cycle on an in-memory cluster (pure logic only; the e2e tier runs it on a real one)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fake_cluster import NS, T0, Clock, FakeCluster

from rikugame.core.quantities import cpu_millicores
from rikugame.core.tuner_status import TunerStatus
from rikugame.errors import ResizeRefused
from rikugame.operator.reconciler import Reconciler, rfc3339
from rikugame.operator.settings import OperatorSettings


def reconciler(cluster: FakeCluster, clock: Clock) -> Reconciler:
    return Reconciler(cluster, OperatorSettings(metrics_interval_seconds=60), clock=clock)


async def run_minutes(r: Reconciler, cluster: FakeCluster, clock: Clock, minutes: int, cpu: str = "100m",
                      memory: str = "100Mi") -> None:
    for _ in range(minutes):
        clock.now += 60
        cluster.usage(int(clock.now), cpu, memory)
        report = await r.cycle()
        assert not report.errors, report.errors


async def test_an_oom_kill_raises_memory_in_the_same_cycle():
    cluster, clock = FakeCluster(), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 3, memory="200Mi")
    before = len(cluster.resizes)
    cluster.pod["status"]["containerStatuses"][0].update(
        {"restartCount": 1, "lastState": {"terminated": {"reason": "OOMKilled", "finishedAt": rfc3339(clock.now)}}})
    clock.now += 60
    cluster.usage(int(clock.now), "100m", "200Mi")
    report = await r.cycle()
    assert report.oom_kills == 1 and len(cluster.resizes) == before + 1
    memory = cluster.pod["spec"]["containers"][0]["resources"]["requests"]["memory"]
    assert memory not in ("256Mi", "200Mi")  # bumped above the killing size
    again = await r.cycle()
    assert again.oom_kills == 0, "the same kill (pod uid, container, restart count) is counted once"


async def test_missing_metrics_switch_to_emergency_and_nothing_shrinks():
    cluster, clock = FakeCluster(), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 2)
    cpu_before = cluster.pod["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    cluster.metrics = None  # metrics.k8s.io stopped answering
    clock.now += 600
    report = await r.cycle()
    assert report.resized_pods == 0
    assert cluster.statuses[-1]["phase"] == "Emergency"
    assert cluster.pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == cpu_before


async def test_a_refused_resize_is_not_retried_until_the_wanted_size_changes():
    cluster, clock = FakeCluster(), Clock()
    cluster.refuse = ResizeRefused(422, "Infeasible")
    r = reconciler(cluster, clock)
    clock.now += 60
    cluster.usage(int(clock.now), "100m", "100Mi")
    first = await r.cycle()
    assert first.refused_resizes == 1
    second = await r.cycle()
    assert second.refused_resizes == 0 and second.resized_pods == 0
    assert any("refused" in a["what"] for a in cluster.statuses[-1]["lastActions"])


async def test_off_publishes_and_never_resizes():
    cluster, clock = FakeCluster(mode="Off"), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 3)
    assert cluster.resizes == []
    assert cluster.statuses[-1]["phase"] == "Recommending"
    assert cpu_millicores(cluster.statuses[-1]["containers"][0]["decided"]["cpu"]) < 500
    TunerStatus.model_validate(cluster.statuses[-1])  # what the CRD's status schema accepts


async def test_an_unchanged_status_is_not_written_again():
    cluster, clock = FakeCluster(mode="Off"), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 2)
    writes = len(cluster.statuses)
    report = await r.cycle()  # same minute, same data
    assert report.status_writes == 0 and len(cluster.statuses) == writes


@pytest.mark.parametrize(("spec", "message"), [
    ({"targetRef": {"kind": "Deployment", "name": "web"}, "mode": "Sometimes"}, "invalid spec: mode"),
    ({"targetRef": {"kind": "Deployment", "name": "gone"}}, "target Deployment/gone not found"),
])
async def test_a_bad_tuner_gets_an_error_status_naming_the_problem(spec, message):
    cluster, clock = FakeCluster(), Clock()
    cluster.tuners[0]["spec"] = spec
    report = await reconciler(cluster, clock).cycle()
    assert cluster.statuses[-1]["phase"] == "Error"
    assert cluster.statuses[-1]["lastAction"].startswith(message)
    assert report.errors


async def test_a_restart_continues_from_the_checkpoint():
    cluster, clock = FakeCluster(mode="Off"), Clock()
    every_minute = OperatorSettings(metrics_interval_seconds=60, checkpoint_interval_seconds=60)
    first = Reconciler(cluster, every_minute, clock=clock)
    await run_minutes(first, cluster, clock, 5)
    count = first.tuners[(NS, "web")].tuning.vertical.recommender.coverage.count[0]
    second = Reconciler(cluster, every_minute, clock=clock)
    await run_minutes(second, cluster, clock, 1)
    assert second.tuners[(NS, "web")].tuning.vertical.recommender.coverage.count[0] == count + 1


async def test_flush_writes_every_tuners_checkpoint_now():
    cluster, clock = FakeCluster(mode="Off"), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 3)
    stored = cluster.checkpoints["web"]["spec"]["data"]
    written = await r.flush_checkpoints()
    assert written == 1 and cluster.checkpoints["web"]["spec"]["data"] != stored


def with_hpa(cluster: FakeCluster) -> FakeCluster:
    cluster.tuners[0]["spec"]["horizontal"] = {"recommender": "static", "gatheringSeconds": 0,
                                               "targetUtilizationPercent": 70, "minReplicas": 3}
    cluster.workload["spec"]["replicas"] = 3
    return cluster


async def test_the_hpa_is_created_by_server_side_apply_but_not_in_the_step_of_a_resize():
    cluster, clock = with_hpa(FakeCluster()), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 1)
    assert cluster.resizes and cluster.hpa_writes == [], "resize first; the HPA waits for the next step"
    await run_minutes(r, cluster, clock, 1)
    assert len(cluster.hpa_writes) == 1
    spec = cluster.hpa_writes[0]["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert spec["minReplicas"] == 3
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    await run_minutes(r, cluster, clock, 2)
    assert len(cluster.hpa_writes) == 1, "unchanged settings are not written again"


async def test_a_resize_under_an_hpa_co_tunes_its_target_one_step_later():
    cluster, clock = with_hpa(FakeCluster()), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 2)  # resize to 350m, then the HPA at 70 % of 350m
    assert len(cluster.hpa_writes) == 1
    resizes = len(cluster.resizes)
    await run_minutes(r, cluster, clock, 1, cpu="1500m")  # usage jumps: the request rises at once
    assert len(cluster.resizes) == resizes + 1 and len(cluster.hpa_writes) == 1
    await run_minutes(r, cluster, clock, 1, cpu="1500m")
    assert len(cluster.hpa_writes) == 2
    target = cluster.hpa_writes[-1]["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"]
    assert target == 65  # 70 % × 350m / the new request would keep the replica count; clipped to 65 %
    assert "CO_TUNED" in cluster.statuses[-1]["lastActions"][-1]["why"]


async def test_a_keda_owned_hpa_is_never_touched():
    cluster, clock = with_hpa(FakeCluster(mode="Off")), Clock()
    cluster.tuners[0]["spec"]["mode"] = "Auto"
    cluster.hpas = [{"metadata": {"namespace": NS, "name": "keda-hpa-web", "ownerReferences": [
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "web"}]},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 50}}}]}}]
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 3)
    assert cluster.hpa_writes == []
    managed = next(c for c in cluster.statuses[-1]["conditions"] if c["type"] == "HPAManaged")
    assert managed["reason"] == "OwnedByKEDA"


async def test_a_field_conflict_is_reported_not_overwritten():
    cluster, clock = with_hpa(FakeCluster(mode="Auto")), Clock()
    cluster.conflict = True
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 2)
    managed = next(c for c in cluster.statuses[-1]["conditions"] if c["type"] == "HPAManaged")
    assert managed["reason"] == "FieldConflict" and "argocd" in managed["message"]


async def test_watched_namespaces_scope_the_tuners():
    cluster, clock = FakeCluster(), Clock()
    elsewhere = Reconciler(cluster, OperatorSettings(watch_namespaces=("other",)), clock=clock)
    clock.now += 60
    cluster.usage(int(clock.now), "100m", "100Mi")
    report = await elsewhere.cycle()
    assert report.tuners == 0 and cluster.resizes == [] and cluster.statuses == []


async def test_a_resize_is_followed_to_done_in_the_status_and_makes_an_event():
    cluster, clock = FakeCluster(), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 1)
    assert len(cluster.resizes) == 1
    resizes = cluster.statuses[-1]["resizes"]
    assert [(x["pod"], x["generation"], x["state"]) for x in resizes] == [("web-1", 2, "Pending")]
    assert ("Resized", "Normal") in [(reason, type_) for reason, _, type_ in cluster.events]
    await run_minutes(r, cluster, clock, 1)
    assert cluster.statuses[-1]["resizes"][0]["state"] == "Done"
    await run_minutes(r, cluster, clock, 1)
    assert cluster.statuses[-1]["resizes"] == [], "a finished resize is shown once, then dropped"


async def test_an_infeasible_resize_is_not_asked_again_until_the_wanted_size_drops():
    cluster, clock = FakeCluster(), Clock()
    cluster.kubelet = "Infeasible"
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 1, cpu="100m", memory="300Mi")  # memory up at once: 300Mi + headroom
    assert len(cluster.resizes) == 1
    await run_minutes(r, cluster, clock, 1, cpu="100m", memory="400Mi")  # wants more: not asked again
    entry = cluster.statuses[-1]["resizes"][0]
    assert entry["state"] == "Infeasible" and "capacity" in entry["message"]
    assert len(cluster.resizes) == 1, "a larger size than an infeasible one is not asked for"
    assert ("ResizeInfeasible", "Warning") in [(reason, type_) for reason, _, type_ in cluster.events]
    assert any(a["what"] == "resize web-1 infeasible" for a in cluster.statuses[-1]["lastActions"])


async def test_a_resize_still_pending_at_its_deadline_is_an_error_and_the_hpa_waits_for_it():
    cluster, clock = with_hpa(FakeCluster()), Clock()
    cluster.kubelet = "silent"
    r = Reconciler(cluster, OperatorSettings(metrics_interval_seconds=60, resize_deadline_seconds=180), clock=clock)
    await run_minutes(r, cluster, clock, 3)
    assert len(cluster.resizes) == 1 and cluster.hpa_writes == [], "the HPA waits until the resize is done"
    assert cluster.statuses[-1]["resizes"][0]["state"] == "Pending"
    await run_minutes(r, cluster, clock, 2)
    entry = cluster.statuses[-1]["resizes"][0]
    assert entry["state"] == "Error" and "deadline" in entry["message"]
    assert ("ResizeFailed", "Warning") in [(reason, type_) for reason, _, type_ in cluster.events]


async def test_after_missing_metrics_return_back_to_normal_steps_min_replicas_down_over_an_hour():
    cluster, clock = with_hpa(FakeCluster()), Clock()
    cluster.tuners[0]["spec"]["horizontal"]["maxWritesPerHour"] = 60  # no write budget delaying a step
    cluster.workload["spec"]["replicas"] = 8
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 3)
    cluster.metrics = None  # metrics.k8s.io stops answering: Emergency holds minReplicas at the peak (8)
    for _ in range(6):
        clock.now += 60
        assert not (await r.cycle()).errors
    assert cluster.statuses[-1]["phase"] == "Emergency" and cluster.hpa_writes[-1]["spec"]["minReplicas"] == 8
    cluster.workload["spec"]["replicas"] = 3
    cpu_before = cluster.pod["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    mins = []
    for _ in range(61):
        clock.now += 60
        cluster.usage(int(clock.now), "10m", "100Mi")  # far below the request: a shrink is wanted
        assert not (await r.cycle()).errors
        mins.append(cluster.hpas[0]["spec"]["minReplicas"])
        if len(mins) < 60:
            assert cluster.statuses[-1]["phase"] == "BackToNormal"
            assert cluster.pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == cpu_before
    assert sorted(set(mins), reverse=True) == [8, 7, 6, 5, 3], "four steps down over the hour"
    assert mins == sorted(mins, reverse=True)
    assert cluster.statuses[-1]["phase"] == "Working"


async def test_back_to_normal_survives_a_restart_through_the_checkpoint():
    cluster, clock = with_hpa(FakeCluster()), Clock()
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 2)
    cluster.metrics = None
    for _ in range(6):
        clock.now += 60
        await r.cycle()
    await run_minutes(r, cluster, clock, 1)
    assert cluster.statuses[-1]["phase"] == "BackToNormal"
    await r.flush_checkpoints()
    restarted = reconciler(cluster, clock)
    await run_minutes(restarted, cluster, clock, 1)
    assert cluster.statuses[-1]["phase"] == "BackToNormal"


def two_pods(cluster: FakeCluster) -> FakeCluster:
    """The Deployment has a second ready pod (as its ReplicaSet would)."""
    second = copy.deepcopy(cluster.pod)
    second["metadata"].update({"name": "web-2", "uid": "p2"})
    pods = [cluster.pod, second]
    cluster.list_pods = lambda: _async(copy.deepcopy(pods))  # type: ignore[method-assign]
    return cluster


async def _async(value: Any) -> Any:
    return value


async def test_a_422_resize_falls_back_to_one_rolling_restart_when_two_pods_are_ready():
    cluster, clock = two_pods(FakeCluster()), Clock()
    cluster.refuse = ResizeRefused(422, "resize of this pod is not supported")
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 3)
    assert cluster.restarts == [("Deployment", "web", rfc3339(T0 + 60))], "one restart, not one per cycle"
    actions = cluster.statuses[-1]["lastActions"]
    assert any(a["what"] == "rolling restart Deployment/web" and "not supported" in a["why"] for a in actions)
    decided = r.decided_for((NS, "Deployment", "web"))
    assert decided is not None and decided["app"].cpu_request_millicores == 350, "new pods get the decision"


async def test_a_single_pod_is_not_restarted_unless_the_tuner_allows_it():
    cluster, clock = FakeCluster(), Clock()
    cluster.refuse = ResizeRefused(422, "resize of this pod is not supported")
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 2)
    assert cluster.restarts == []
    assert any(a["what"] == "in-place resize impossible" and "IfReplicated and 1 ready" in a["why"]
               for a in cluster.statuses[-1]["lastActions"])
    cluster.tuners[0]["spec"]["vertical"] = {"rollingRestart": "Always"}
    cluster.tuners[0]["metadata"]["generation"] = 2
    await run_minutes(r, cluster, clock, 1)
    assert len(cluster.restarts) == 1


async def test_a_restart_container_resize_policy_is_never_resized_in_place():
    cluster, clock = FakeCluster(), Clock()
    cluster.pod["spec"]["containers"][0]["resizePolicy"] = [
        {"resourceName": "cpu", "restartPolicy": "RestartContainer"}]
    two_pods(cluster)
    r = reconciler(cluster, clock)
    await run_minutes(r, cluster, clock, 1)
    assert cluster.resizes == [] and len(cluster.restarts) == 1
    assert "RestartContainer" in cluster.statuses[-1]["lastActions"][-1]["why"]


async def test_a_cycle_yields_to_the_event_loop_between_tuners_so_the_webhook_can_answer():
    import asyncio

    cluster, clock = FakeCluster(mode="Off"), Clock()
    cluster.tuners = [copy.deepcopy(cluster.tuners[0]) for _ in range(40)]
    for i, t in enumerate(cluster.tuners):
        t["metadata"].update({"name": f"web-{i}", "uid": f"t{i}"})
    r = reconciler(cluster, clock)
    clock.now += 60
    cluster.usage(int(clock.now), "100m", "100Mi")
    ticks, done = [], asyncio.Event()

    async def other_work() -> None:  # what a webhook request handler would be
        while not done.is_set():
            ticks.append(1)
            await asyncio.sleep(0)

    task = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    before = len(ticks)
    report = await r.cycle()
    done.set()
    await task
    assert report.tuners == 40 and not report.errors
    assert len(ticks) - before >= 40, "other tasks ran between the Tuners"


async def test_metrics_publish_each_tuners_requests_phase_and_resize_latency():
    from prometheus_client import generate_latest

    from rikugame.operator.service import OperatorMetrics

    cluster, clock = FakeCluster(), Clock()
    r = reconciler(cluster, clock)
    metrics = OperatorMetrics()
    for _ in range(2):
        clock.now += 60
        cluster.usage(int(clock.now), "100m", "100Mi")
        metrics.record(await r.cycle(), r.tuners.values())
    text = generate_latest(metrics.registry).decode()
    assert ('rikugame_container_request{container="app",namespace="shop",resource="cpu",tuner="web",'
            'value="decided"} 0.35') in text
    assert 'rikugame_tuners_by_phase{phase="Working"} 1.0' in text
    assert "rikugame_resize_seconds_count 1.0" in text, "the resize sent in cycle 1 was seen done in cycle 2"
    assert 'rikugame_actions_total{outcome="resized"} 1.0' in text
