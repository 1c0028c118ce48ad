"""WorkloadTuning: containers by name, per-container policy, modes, partial apply, checkpoints."""

import json
import math

import numpy as np
import pytest

from rikugame.core.policy import TunerSpec
from rikugame.core.workload import ContainerResources, WorkloadTuning

T0 = 1_700_000_000
HOUR = 3600
MIB = 2**20
GIB = 2**30


def spec(**kw) -> TunerSpec:
    return TunerSpec.model_validate({"targetRef": {"name": "web"}, "recommender": "vpa", "mode": "Auto", **kw})


def fed(tuning: WorkloadTuning, hours: int = 30, cpu: float = 0.2, mem: float = 300 * MIB,
        names: tuple[str, ...] = ("app", "sidecar")) -> WorkloadTuning:
    ts = T0 + np.arange(hours * 12) * 300
    for k, name in enumerate(names):
        tuning.observe_container(name, ts, np.full(len(ts), cpu * (k + 1)), np.full(len(ts), mem * (k + 1)))
    return tuning


def current(cpu=1000, mem=GIB, cpu_limit=-1, mem_limit=GIB) -> ContainerResources:
    return ContainerResources(cpu, mem, cpu_limit, mem_limit)


def test_containers_are_decided_by_name_with_the_memory_limit_equal_to_the_request():
    t = fed(WorkloadTuning(spec(), ["app", "sidecar"]))
    t.set_current({"app": current(), "sidecar": current()})
    now = T0 + 30 * HOUR
    t.advance(now)
    d = t.decide(now)
    app, sidecar = d.containers
    assert (app.name, sidecar.name) == ("app", "sidecar")
    assert app.decided.cpu_request_millicores < sidecar.decided.cpu_request_millicores
    assert app.decided.memory_limit_bytes == app.decided.memory_request_bytes
    assert app.decided.cpu_limit_millicores == -1  # Keep: there was no CPU limit
    assert d.actuate and set(d.changed_containers()) == {"app", "sidecar"}


def test_off_mode_decides_but_says_not_to_actuate():
    t = fed(WorkloadTuning(spec(mode="Off"), ["app", "sidecar"]))
    d = t.decide(T0 + 30 * HOUR)
    assert not d.actuate
    assert d.status()["mode"] == "Off" and d.status()["containers"][0]["decided"]["cpuMillicores"] > 0


def test_emergency_mode_shrinks_nothing():
    t = fed(WorkloadTuning(spec(mode="Emergency"), ["app", "sidecar"]))
    t.set_current({"app": current(), "sidecar": current()})
    d = t.decide(T0 + 30 * HOUR)
    for c in d.containers:
        assert c.decided.cpu_request_millicores == 1000 and c.decided.memory_request_bytes == GIB
        assert "EMERGENCY_FREEZE" in c.cpu_reasons


def test_per_container_bounds_and_untuned_resources_are_respected():
    s = spec(containers=[{"name": "sidecar", "cpu": "Off", "bounds": {"minMemory": "900Mi", "maxMemory": "2Gi"}}])
    t = fed(WorkloadTuning(s, ["app", "sidecar"]))
    t.set_current({"app": current(), "sidecar": current(cpu=123)})
    d = t.decide(T0 + 30 * HOUR)
    app, sidecar = d.containers
    assert sidecar.decided.cpu_request_millicores == 123 and sidecar.cpu_reasons == ("NOT_TUNED",)
    assert sidecar.decided.memory_request_bytes >= 900 * MIB and "MIN_BOUND" in sidecar.memory_reasons
    assert app.decided.memory_request_bytes < 900 * MIB


def test_partial_apply_keeps_the_unapplied_containers_settings_and_pending_oom():
    t = fed(WorkloadTuning(spec(), ["app", "sidecar"]))
    t.set_current({"app": current(), "sidecar": current()})
    t.record_oom("sidecar", T0 + 29 * HOUR, float(GIB))
    d = t.decide(T0 + 30 * HOUR)
    t.apply(d, containers=["app"])
    assert t.vertical.current_cpu_millicores[0] == d.containers[0].decided.cpu_request_millicores
    assert t.vertical.current_cpu_millicores[1] == 1000
    assert bool(t.vertical.oom_pending[1])
    again = t.decide(T0 + 30 * HOUR)
    assert "OOM_BUMP" in again.containers[1].memory_reasons


def test_containers_added_and_removed_keep_the_history_of_those_that_stay():
    t = fed(WorkloadTuning(spec(), ["app", "sidecar"]))
    before = t.decide(T0 + 30 * HOUR).containers[1].proposed_cpu_millicores
    t.set_containers(["sidecar", "init-proxy"])
    d = t.decide(T0 + 30 * HOUR)
    assert [c.name for c in d.containers] == ["sidecar", "init-proxy"]
    assert d.containers[0].proposed_cpu_millicores == before
    assert "INSUFFICIENT_HISTORY" not in d.containers[0].cpu_reasons
    assert t.vertical.recommender.coverage.count[1] == 0  # the new one starts empty
    t.reset("sidecar")
    assert t.vertical.recommender.coverage.count[0] == 0


def test_unknown_container_is_a_clear_error():
    t = WorkloadTuning(spec(), ["app"])
    with pytest.raises(KeyError, match="'db' is not tuned here; known: app"):
        t.record_oom("db", T0, 1.0)


def test_hpa_is_co_tuned_with_the_pods_total_cpu_request():
    s = spec(horizontal={"recommender": "static", "gatheringSeconds": 0})
    t = fed(WorkloadTuning(s, ["app", "sidecar"]))
    t.set_current({"app": current(cpu=300), "sidecar": current(cpu=200)})
    assert t.pod_cpu_request_millicores() == 500
    now = T0 + 30 * HOUR
    t.observe_replicas(now, 3, 3, 0.2)
    first = t.decide(now, replicas=3)
    assert first.hpa is not None and first.hpa.status.request_millicores == 500
    t.apply(first, containers=[])  # HPA settings written, no resize
    t.set_current({"app": current(cpu=500), "sidecar": current(cpu=500)})
    second = t.decide(now + 60, replicas=3)
    assert second.hpa is not None and "CO_TUNED" in second.hpa.reasons.describe()
    assert second.hpa.settings.target_utilization_percent == 65  # 70 % × 500m / 1000m = 35 %, clipped to 65


def test_emergency_raises_min_replicas_to_the_recent_peak_and_never_lowers_it():
    s = spec(mode="Emergency", horizontal={"recommender": "static", "gatheringSeconds": 0, "minReplicas": 3})
    t = fed(WorkloadTuning(s, ["app"]), names=("app",))
    t.set_current({"app": current(cpu=500)})
    for minute, replicas in enumerate([4, 9, 6, 5]):
        t.observe_replicas(T0 + 60 * minute, replicas, replicas, 0.4)
    d = t.decide(T0 + 240, replicas=5)
    assert d.hpa is not None and d.hpa.settings.min_replicas == 9
    assert d.hpa.explanation.startswith("emergency")


def test_auto_mode_leaves_min_replicas_to_the_policy():
    s = spec(horizontal={"recommender": "static", "gatheringSeconds": 0, "minReplicas": 3})
    t = fed(WorkloadTuning(s, ["app"]), names=("app",))
    t.set_current({"app": current(cpu=500)})
    t.observe_replicas(T0, 9, 9, 0.4)
    d = t.decide(T0 + 60, replicas=9)
    assert d.hpa is not None and d.hpa.settings.min_replicas == 3


def test_checkpoint_round_trip_keeps_the_horizontal_side():
    s = spec(horizontal={"recommender": "rikugame", "gatheringSeconds": 0})
    t = fed(WorkloadTuning(s, ["app"]), names=("app",))
    t.set_current({"app": current(cpu=500)})
    for minute in range(180):
        t.observe_replicas(T0 + 60 * minute, 4 + minute % 3, 4, 0.3 + 0.1 * (minute % 7))
    t.advance(T0 + 180 * 60)
    restored = WorkloadTuning.from_checkpoint(s, json.loads(json.dumps(t.to_checkpoint())))
    now = T0 + 181 * 60
    a, b = t.decide(now, replicas=5), restored.decide(now, replicas=5)
    assert a.hpa is not None and b.hpa is not None
    assert a.status() == b.status()
    assert restored.horizontal is not None and restored.horizontal.history.recent_peak_replicas() == 6


def test_checkpoint_round_trip_through_json_gives_the_same_decision():
    t = fed(WorkloadTuning(spec(), ["app", "sidecar"]))
    t.set_current({"app": current(), "sidecar": current()})
    t.record_oom("app", T0 + 29 * HOUR, float(GIB))
    restored = WorkloadTuning.from_checkpoint(spec(), json.loads(json.dumps(t.to_checkpoint())))
    now = T0 + 31 * HOUR
    assert restored.decide(now).status() == t.decide(now).status()


def test_checkpoint_under_a_new_recommender_keeps_settings_but_relearns():
    t = fed(WorkloadTuning(spec(), ["app"]), names=("app",))
    t.set_current({"app": current(cpu=700)})
    restored = WorkloadTuning.from_checkpoint(spec(recommender="krr-simple"), t.to_checkpoint())
    assert restored.vertical.current_cpu_millicores[0] == 700
    assert restored.vertical.recommender.coverage.count[0] == 0


def test_back_to_normal_freezes_shrinks_for_an_hour_then_decides_as_if_nothing_happened():
    t = fed(WorkloadTuning(spec(), ["app", "sidecar"]))
    calm = fed(WorkloadTuning(spec(), ["app", "sidecar"]))
    for x in (t, calm):
        x.set_current({"app": current(), "sidecar": current()})
    end = T0 + 29 * HOUR
    assert calm.decide(end + 1800).containers[0].decided.cpu_request_millicores < 1000, "a shrink is wanted"
    t.note_emergency(end - 600, True)
    t.note_emergency(end, False)  # metrics are back
    during = t.decide(end + 1800)
    assert during.back_to_normal
    for c in during.containers:
        assert c.decided.cpu_request_millicores == 1000 and "EMERGENCY_FREEZE" in c.cpu_reasons
    restored = WorkloadTuning.from_checkpoint(spec(), json.loads(json.dumps(t.to_checkpoint())))
    assert restored.decide(end + 1800).back_to_normal, "the phase survives a checkpoint"
    after = t.decide(end + HOUR)
    assert not after.back_to_normal
    assert after.containers == calm.decide(end + HOUR).containers


def test_back_to_normal_steps_min_replicas_down_from_the_emergency_floor():
    # No write budget here (it may delay a step: BackToNormal says how fast at most, the budget how often)
    t = WorkloadTuning(spec(horizontal={"recommender": "static", "gatheringSeconds": 0, "minReplicas": 2,
                                        "targetUtilizationPercent": 70, "maxWritesPerHour": 60}), ["app"])
    t.set_current({"app": current()})
    for m in range(-5, 62):
        t.observe_replicas(T0 + m * 60, 2, 2.0, 0.2)
    t.note_emergency(T0, True)
    emergency = t.decide(T0, replicas=10, emergency=True)
    assert emergency.hpa is not None and emergency.hpa.settings.min_replicas == 10
    t.apply(emergency)
    t.note_emergency(T0 + 60, False)
    mins = [t.decide(T0 + 60 + m * 60, replicas=2).hpa.settings.min_replicas for m in range(0, 61, 5)]
    normal = mins[-1]
    assert normal < 10
    steps = [math.ceil(10 - (10 - normal) * k / 4) for k in range(4)]
    assert mins == [m for m in steps for _ in range(3)] + [normal], "four equal steps over the hour"
