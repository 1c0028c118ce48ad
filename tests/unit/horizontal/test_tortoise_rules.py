"""Tortoise's rules (mercari/tortoise pkg/recommender, pkg/hpa) and decide_horizontal's guardrails."""

from __future__ import annotations

from rikugame.core.horizontal import (
    HorizontalHistory,
    HorizontalPolicy,
    HorizontalReason,
    HorizontalStatus,
    HPASettings,
    ReplicaSlots,
    decide_horizontal,
    hour_of_week,
    names,
)
from rikugame.core.horizontal.hpa import TORTOISE_BEHAVIOR
from rikugame.core.horizontal.tortoise import tortoise_target

SUNDAY = 1_700_352_000  # 2023-11-19 00:00 UTC, a Sunday
HOUR = 3600


def test_registry_has_the_three_policies() -> None:
    assert {"static", "tortoise", "rikugame"} <= set(names())


def test_hour_of_week_starts_on_sunday() -> None:
    assert hour_of_week(SUNDAY) == 0
    assert hour_of_week(SUNDAY + 25 * HOUR + 59) == 25


def test_target_formula() -> None:
    # upper = ceil(700m / 1000m * 100) = 70 -> 100 - (70 - 70) = 100 (clipped later by the policy).
    assert tortoise_target(70, 700.0, 1000.0) == (100, False)
    # upper 81 with target 70 -> 89.
    assert tortoise_target(70, 801.0, 1000.0) == (89, False)
    # current target above upper usage: keep.
    assert tortoise_target(70, 500.0, 1000.0) == (70, True)


def test_replica_slots_take_the_max_and_decay_once_a_week() -> None:
    slots = ReplicaSlots(0.5, small_value=3)
    slots.update(SUNDAY, 20)
    slots.update(SUNDAY + 600, 9)
    assert slots.value(SUNDAY + 1200) == 10  # max(ceil(20 * 0.5), ceil(9 * 0.5))
    slots.update(SUNDAY + 7 * 24 * HOUR, 4)  # next week, same slot: trunc(10 * 0.95) = 9 beats 2 -> 9
    assert slots.value(SUNDAY + 7 * 24 * HOUR) == 9
    slots.update(SUNDAY + 7 * 24 * HOUR + 60, 4)  # within the hour: no second decay
    assert slots.value(SUNDAY + 7 * 24 * HOUR) == 9
    assert not slots.complete()
    small = ReplicaSlots(2.0, small_value=12)
    small.update(SUNDAY, 1)  # ceil(1 * 2) = 2 < 3 -> 12
    assert small.value(SUNDAY) == 12


def _history(days: int, replicas: int = 10, usage: float = 0.9) -> HorizontalHistory:
    h = HorizontalHistory()
    for minute in range(days * 1440):
        h.observe(SUNDAY + minute * 60, replicas, float(replicas), usage)
    return h


def test_nothing_changes_while_gathering() -> None:
    h = _history(2)
    current = HPASettings(70, 3, 100, TORTOISE_BEHAVIOR)
    d = decide_horizontal(h, current, HorizontalPolicy(recommender="tortoise"), SUNDAY + 2 * 86400,
                          replicas=10, request_millicores=1000)
    assert d.settings == current and HorizontalReason.GATHERING_DATA in d.reasons


def test_tortoise_after_a_week_clips_and_limits_the_target() -> None:
    h = _history(7, replicas=10, usage=0.9)
    policy = HorizontalPolicy(recommender="tortoise")
    now = SUNDAY + 7 * 86400
    d = decide_horizontal(h, HPASettings(70, 3, 100, TORTOISE_BEHAVIOR), policy, now, replicas=10,
                          request_millicores=1000)
    # usage P90 * 1.15 > 100 % -> the target falls (lowering is not step-limited) and is clipped to >= 65.
    assert 65 <= d.settings.target_utilization_percent < 70
    assert d.settings.min_replicas == 5 and d.settings.max_replicas == 20
    # A day later with low usage the target may rise by at most 5 points.
    low = _history(7, replicas=10, usage=0.3)
    d2 = decide_horizontal(low, HPASettings(70, 3, 100, TORTOISE_BEHAVIOR), policy, now, replicas=10,
                           request_millicores=1000)
    assert d2.settings.target_utilization_percent == 70  # usage below the target: kept
    mid = _history(7, replicas=10, usage=0.7)
    d3 = decide_horizontal(mid, HPASettings(70, 3, 100, TORTOISE_BEHAVIOR), policy, now, replicas=10,
                           request_millicores=1000)
    assert d3.settings.target_utilization_percent == 75
    assert HorizontalReason.TARGET_STEP_LIMIT in d3.reasons
    # Within 24 h of that evaluation the target does not move again.
    d4 = decide_horizontal(mid, d3.settings, policy, now + 3600, replicas=10, request_millicores=1000,
                           status=d3.status)
    assert d4.settings.target_utilization_percent == 75
    assert HorizontalReason.TARGET_INTERVAL in d4.reasons


def test_decisions_are_deterministic_for_every_recommender() -> None:
    h = _history(7, replicas=6, usage=0.5)
    now = SUNDAY + 7 * 86400
    for name in names():
        policy = HorizontalPolicy(recommender=name)
        a = decide_horizontal(h, HPASettings(70, 3, 100), policy, now, replicas=6, request_millicores=1000,
                              status=HorizontalStatus())
        b = decide_horizontal(h, HPASettings(70, 3, 100), policy, now, replicas=6, request_millicores=1000,
                              status=HorizontalStatus())
        assert a == b
        assert 1 <= a.settings.min_replicas <= a.settings.max_replicas
