"""The simulated HPA controller against worked examples of the Kubernetes documentation
(content/en/docs/tasks/run-application/horizontal-pod-autoscale.md) and the controller's rules."""

from __future__ import annotations

from rikugame.core.horizontal.hpa import (
    TORTOISE_BEHAVIOR,
    Behavior,
    HPASettings,
    PolicyType,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
)
from rikugame.sim.hpa import HPAController, MetricSample, PodMetric, SyncInput, resource_replicas


def cpu(target: int, ready: int, usage_per_pod: float, unready: int = 0, missing: int = 0,
        request: float = 1000.0) -> MetricSample:
    return MetricSample(target, ready, usage_per_pod * ready, request * ready, unready, request * unready,
                        missing, request * missing)


def test_doubles_when_metric_is_twice_the_target() -> None:
    # Docs: current 200m, desired 100m -> replicas doubled; 50m -> halved.
    assert resource_replicas(4, cpu(10, 4, 200.0)) == 8
    assert resource_replicas(4, cpu(10, 4, 50.0)) == 2


def test_tolerance_skips_small_changes() -> None:
    assert resource_replicas(10, cpu(50, 10, 540.0)) == 10  # ratio 1.08 <= 1.1
    assert resource_replicas(10, cpu(50, 10, 560.0)) == 12  # ratio 1.12 -> ceil(11.2)
    assert resource_replicas(10, cpu(50, 10, 460.0)) == 10  # ratio 0.92
    assert resource_replicas(10, cpu(50, 10, 440.0)) == 9  # ratio 0.88 -> ceil(8.8)


def test_utilization_is_an_integer_percent() -> None:
    # 10 pods at 54.99 % of request: the controller truncates to 54 % -> ratio 1.08 -> no change.
    assert resource_replicas(10, cpu(50, 10, 549.9)) == 10


def test_not_ready_pods_count_zero_on_a_scale_up() -> None:
    # 2 ready pods at 90 % vs target 50 would give ceil(1.8 * 2) = 4; with 2 not-ready pods counted at
    # 0 % the usage is 45 % -> ratio 0.9, inside the tolerance: keep 4.
    assert resource_replicas(4, cpu(50, 2, 900.0, unready=2)) == 4
    # 3 ready at 100 %, 1 not ready: 300/400 = 75 % -> ratio 1.5 -> ceil(1.5 * 4) = 6 (not ceil(2 * 3)).
    assert resource_replicas(4, cpu(50, 3, 1000.0, unready=1)) == 6


def test_not_ready_pods_are_ignored_on_a_scale_down() -> None:
    # 2 ready at 20 % vs 50 %: ceil(0.4 * 2) = 1 regardless of 3 not-ready pods.
    assert resource_replicas(5, cpu(50, 2, 200.0, unready=3)) == 1


def test_missing_metrics_count_as_full_request_on_a_scale_down() -> None:
    # 2 pods at 20 %, 2 without metrics counted at 100 %: 240/400 = 60 % vs 50 -> 1.2 > 1: direction flips.
    assert resource_replicas(4, cpu(50, 2, 200.0, missing=2)) == 4
    # 4 pods at 10 %, 1 missing at 100 %: 140/500 = 28 % -> ratio 0.56 -> ceil(0.56 * 5) = 3.
    assert resource_replicas(5, cpu(50, 4, 100.0, missing=1)) == 3


def test_from_pods_groups_like_the_controller() -> None:
    sample = MetricSample.from_pods(50, [PodMetric(True, 900.0, 1000.0), PodMetric(True, 900.0, 1000.0),
                                         PodMetric(False, None, 1000.0), PodMetric(True, None, 1000.0)])
    assert (sample.ready_pods, sample.unready_pods, sample.missing_pods) == (2, 1, 1)
    assert sample.ready_usage_millicores == 1800.0


def sync(hpa: HPAController, settings: HPASettings, now: int, current: int, usage: float) -> int:
    return hpa.sync(settings, SyncInput(now, current, [cpu(settings.target_utilization_percent, current,
                                                           usage)])).desired_replicas


def test_scale_down_waits_for_the_stabilization_window() -> None:
    hpa = HPAController()
    s = HPASettings(50, 1, 100)
    assert sync(hpa, s, 0, 10, 500.0) == 10
    # Load halves: each sync proposes 5, but the max over the last 300 s (10) holds until t=0 drops out.
    for t in range(15, 300, 15):
        assert sync(hpa, s, t, 10, 250.0) == 10
    assert sync(hpa, s, 300, 10, 250.0) == 5


def test_default_scale_up_is_max_of_4_pods_and_100_percent_per_15s() -> None:
    s = HPASettings(50, 1, 100)
    assert sync(HPAController(), s, 0, 2, 5000.0) == 6  # 2 + 4 pods beats 2 * 2
    assert sync(HPAController(), s, 0, 10, 5000.0) == 20  # 100 % beats +4
    hpa = HPAController()
    assert sync(hpa, s, 0, 10, 5000.0) == 20
    assert sync(hpa, s, 15, 20, 5000.0) == 40  # the event at t=0 is outside the 15 s period now


def test_select_policy_min_and_disabled() -> None:
    up = ScalingRules((ScalingPolicy(PolicyType.PODS, 4, 15), ScalingPolicy(PolicyType.PERCENT, 100, 15)),
                      0, SelectPolicy.MIN)
    assert sync(HPAController(), HPASettings(50, 1, 100, Behavior(scale_up=up)), 0, 10, 5000.0) == 14
    off = ScalingRules((ScalingPolicy(PolicyType.PODS, 4, 15),), 0, SelectPolicy.DISABLED)
    assert sync(HPAController(), HPASettings(50, 1, 100, Behavior(scale_up=off)), 0, 10, 5000.0) == 10


def test_tortoise_behaviour_removes_2_percent_per_90s() -> None:
    hpa = HPAController(downscale_stabilization_seconds=0)
    s = HPASettings(50, 1, 100, TORTOISE_BEHAVIOR)
    assert sync(hpa, s, 0, 10, 50.0) == 9  # int(10 * 0.98) = 9
    assert sync(hpa, s, 15, 9, 50.0) == 9  # period start is still 10 -> limit 9
    assert sync(hpa, s, 90, 9, 50.0) == 8  # the t=0 event left the 90 s period


def test_bounds_apply_before_metrics() -> None:
    hpa = HPAController()
    assert sync(hpa, HPASettings(50, 1, 5), 0, 8, 500.0) == 5
    assert sync(hpa, HPASettings(50, 6, 10), 0, 3, 10.0) == 6


def test_several_metrics_take_the_max_and_a_failed_one_blocks_scale_down() -> None:
    s = HPASettings(50, 1, 100)
    both = SyncInput(0, 4, [cpu(50, 4, 1000.0), cpu(50, 4, 250.0)])
    assert HPAController().sync(s, both).desired_replicas == 8
    failed = SyncInput(0, 4, [cpu(50, 4, 100.0), MetricSample(50, 0, 0.0, 0.0)])
    result = HPAController().sync(s, failed)
    assert result.desired_replicas == 4 and result.reason == "a metric failed: no scale-down"


def test_step_matches_sync() -> None:
    a, b = HPAController(), HPAController()
    s = HPASettings(60, 2, 50)
    current_a = current_b = 4
    for i, usage in enumerate([900.0, 800.0, 300.0, 200.0, 1000.0, 150.0] * 10):
        now = 15 * i
        current_a = sync(a, s, now, current_a, usage)
        current_b = b.step(now, s, current_b, current_b, 0, usage, 1000.0)
        assert current_a == current_b


def test_replay_is_a_sequence_of_syncs() -> None:
    s = HPASettings(50, 1, 10)
    inputs = [SyncInput(15 * i, 2, [cpu(50, 2, 900.0)]) for i in range(3)]
    results = HPAController().replay(s, inputs)
    assert [r.desired_replicas for r in results] == [4, 4, 4]
    assert results[0].proposed_replicas == 4  # ceil(2 × 90 / 50)


def test_per_direction_tolerance_of_the_behaviour() -> None:
    # KEP-4951: no change while 1 − scale-down tolerance ≤ ratio ≤ 1 + scale-up tolerance.
    assert resource_replicas(10, cpu(50, 10, 510.0), 0.02, 0.0) == 11  # ratio 1.02 > 1 + 0: up
    assert resource_replicas(10, cpu(50, 10, 500.0), 0.02, 0.0) == 10  # ratio 1.00: kept
    assert resource_replicas(10, cpu(50, 10, 495.0), 0.02, 0.0) == 10  # ratio 0.99 ≥ 0.98: kept
    assert resource_replicas(10, cpu(50, 10, 485.0), 0.02, 0.0) == 10  # ratio 0.97 < 0.98, but ceil(9.7) = 10
    assert resource_replicas(10, cpu(50, 10, 440.0), 0.02, 0.0) == 9  # ratio 0.88: down
    tight = Behavior(scale_up=ScalingRules(Behavior().scale_up.policies, 0, tolerance=0.0),
                     scale_down=ScalingRules(Behavior().scale_down.policies, 0, tolerance=0.02))
    controller = HPAController()
    assert controller.tolerances(HPASettings(50, 1, 100, tight)) == (0.02, 0.0)
    assert controller.tolerances(HPASettings(50, 1, 100)) == (0.1, 0.1)  # unset: the controller's flag
    # The same 5 % excess: the default tolerance keeps 10 pods, the behaviour's 0 adds one.
    assert HPAController().step(0, HPASettings(50, 1, 100), 10, 10, 0, 525.0, 1000.0) == 10
    assert HPAController().step(0, HPASettings(50, 1, 100, tight), 10, 10, 0, 525.0, 1000.0) == 11
