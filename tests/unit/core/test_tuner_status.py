"""TunerStatus from a WorkloadDecision: quantity strings, bounds in force, conditions, bounded actions."""

import numpy as np

from rikugame.core.policy import TunerSpec
from rikugame.core.tuner_status import (
    MAX_LAST_ACTIONS,
    Action,
    ConditionStatus,
    Phase,
    TunerStatus,
    actions_of,
    condition,
    record_actions,
    status_from_decision,
)
from rikugame.core.workload import ContainerResources, WorkloadTuning

T0 = 1_700_000_000
HOUR = 3600
MIB = 2**20
GIB = 2**30
NOW = "2026-12-01T22:00:00Z"
LATER = "2026-12-01T23:00:00Z"


def tuning(**spec: object) -> WorkloadTuning:
    s = TunerSpec.model_validate({"targetRef": {"name": "web"}, "recommender": "vpa", "mode": "Auto", **spec})
    t = WorkloadTuning(s, ["app", "sidecar"])
    t.set_current({"app": ContainerResources(1000, GIB, -1, GIB), "sidecar": ContainerResources(500, GIB, 2000, GIB)})
    return t


def fed(t: WorkloadTuning, hours: int = 30) -> WorkloadTuning:
    ts = T0 + np.arange(hours * 12) * 300
    for k, name in enumerate(t.containers):
        t.observe_container(name, ts, np.full(len(ts), 0.2 * (k + 1)), np.full(len(ts), 300.0 * MIB * (k + 1)))
    return t


def test_containers_carry_quantity_strings_and_the_bounds_in_force_per_container():
    t = fed(tuning(containers=[{"name": "sidecar", "bounds": {"minCpu": "100m", "maxMemory": "2Gi"}}]))
    d = t.decide(T0 + 30 * HOUR)
    status = status_from_decision(d, generation=3, phase=Phase.WORKING, now_rfc3339=NOW, previous=None,
                                  target="Deployment/web")
    app, sidecar = status.containers
    assert (app.current.cpu, app.current.memory) == ("1", "1Gi")
    assert (app.lower_bound.cpu, app.upper_bound.memory) == ("50m", "10Gi")
    assert (sidecar.lower_bound.cpu, sidecar.upper_bound.memory) == ("100m", "2Gi")
    assert sidecar.current_limits is not None and sidecar.current_limits.cpu == "2"
    assert app.recommended is not None and app.recommended.cpu is not None
    c = d.containers[0]
    assert app.decided.cpu == (f"{c.decided.cpu_request_millicores}m" if c.decided.cpu_request_millicores % 1000
                               else str(c.decided.cpu_request_millicores // 1000))
    assert app.reasons.cpu == list(c.cpu_reasons)
    assert (status.observed_generation, status.phase, status.mode.value, status.target) == (
        3, Phase.WORKING, "Auto", "Deployment/web")


def test_recommended_is_absent_while_history_is_too_short():
    t = tuning()  # no sample yet
    status = status_from_decision(t.decide(T0), generation=1, phase=Phase.GATHERING, now_rfc3339=NOW,
                                  previous=None, target="Deployment/web")
    assert all(c.recommended is None for c in status.containers)
    gathered = status.condition("HistorySufficient")
    assert gathered is not None and gathered.status is ConditionStatus.FALSE
    assert gathered.reason == "GatheringHistory" and "app" in gathered.message


def test_a_condition_keeps_its_transition_time_while_its_status_holds():
    t = fed(tuning())
    d = t.decide(T0 + 30 * HOUR)
    first = status_from_decision(d, generation=1, phase=Phase.WORKING, now_rfc3339=NOW, previous=None,
                                 target="Deployment/web",
                                 conditions=[condition("Actuating", True, "Auto", now_rfc3339=NOW)])
    second = status_from_decision(d, generation=1, phase=Phase.WORKING, now_rfc3339=LATER, previous=first,
                                  conditions=[condition("Actuating", False, "KillSwitch", now_rfc3339=LATER)])
    assert second.target == "Deployment/web", "the target carries over from the previous status"
    fresh = second.condition("MetricsFresh")
    actuating = second.condition("Actuating")
    assert fresh is not None and fresh.last_transition_time == NOW
    assert actuating is not None and actuating.last_transition_time == LATER and actuating.reason == "KillSwitch"


def test_actions_are_recorded_bounded_and_summarised_in_last_action():
    t = fed(tuning())
    d = t.decide(T0 + 30 * HOUR)
    actions = actions_of(d, NOW)
    assert [a.what for a in actions] == ["resize app", "resize sidecar"]
    assert actions[0].from_ == "cpu 1, memory 1Gi"
    status = status_from_decision(d, generation=1, phase=Phase.WORKING, now_rfc3339=NOW, previous=None)
    for k in range(12):
        status = record_actions(status, [Action(time=NOW, what=f"step {k}", from_="a", to="b", why="test")])
    assert len(status.last_actions) == MAX_LAST_ACTIONS
    assert status.last_actions[-1].what == "step 11" and status.last_actions[0].what == "step 2"
    assert status.last_action == "step 11: a → b"
    again = status_from_decision(d, generation=2, phase=Phase.WORKING, now_rfc3339=LATER, previous=status)
    assert again.last_actions == status.last_actions and again.last_action == status.last_action


def test_the_status_round_trips_through_its_camel_case_wire_form():
    t = fed(tuning(horizontal={"minReplicas": 2}))
    d = t.decide(T0 + 30 * HOUR, replicas=3)
    status = record_actions(
        status_from_decision(d, generation=1, phase=Phase.WORKING, now_rfc3339=NOW, previous=None,
                             target="Deployment/web"), actions_of(d, NOW))
    wire = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert {"observedGeneration", "lastActions", "hpa"} <= set(wire)
    assert "lowerBound" in wire["containers"][0] and "from" in wire["lastActions"][0]
    assert TunerStatus.model_validate(wire) == status
