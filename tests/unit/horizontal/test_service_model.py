"""The service model: pods get ready 60 s after creation, carry no load before, NaN minutes are not scored."""

from __future__ import annotations

import numpy as np

from rikugame.core.horizontal import HorizontalPolicy
from rikugame.sim.service import Run, ServiceModel, TrafficTrace, simulate
from rikugame.sim.traffic import CoreDriver, Scores, score

T0 = 1_700_000_040  # a minute boundary
STATIC = HorizontalPolicy(recommender="static", target_utilization_percent=50, min_replicas=1,
                          min_replicas_floor=1, min_target_utilization_percent=1)


def _run(requests: list[float]) -> tuple[Run, Scores]:
    trace = TrafficTrace(T0 + 60 * np.arange(len(requests), dtype=np.int64), np.array(requests, dtype=float))
    m = ServiceModel(load_scale=1.0, warmup_seconds=0)
    run = simulate(trace, CoreDriver("static", STATIC, m), m)
    return run, score(run)


def test_a_jump_overloads_one_minute_until_new_pods_are_ready() -> None:
    # 600 req/min × 10 ms / 60 s = 0.1 core; 6000 req/min = 1 core; 36000 = 6 cores.
    run, _ = _run([600.0] * 5 + [36_000.0] * 5)
    usage = run.usage_per_pod_cores
    replicas = run.replicas
    assert replicas[4] == 1 and usage[4] < 0.5
    assert usage[5] > 1.5  # the jump minute: the one ready pod carries 6 cores
    assert replicas[5] > 1  # ... while the HPA already created pods (not ready: no load)
    assert usage[7] < 1.0  # two minutes later the new pods serve
    assert run.ready_pods[5] == 1


def test_missing_minutes_carry_the_load_and_are_not_scored() -> None:
    run, s = _run([6000.0] * 3 + [float("nan")] * 3 + [6000.0] * 3)
    assert s.scored_minutes == 6
    assert np.allclose(run.demand_cores[3:6], 1.0)


def test_replica_hours_count_every_pod() -> None:
    _, s = _run([0.0] * 120)
    # One pod (minReplicas 1) for two hours, idle.
    assert abs(s.replica_hours - 2.0) < 1e-9
    assert s.overload_minutes == 0
