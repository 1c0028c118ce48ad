"""rikugame's horizontal recommender: the floor follows the load with a margin fitted to the overload budget."""

from __future__ import annotations

import numpy as np
import pytest

from rikugame.core.horizontal import HorizontalHistory, HorizontalPolicy, HPASettings, decide_horizontal
from rikugame.core.horizontal import rikugame as rk
from rikugame.core.horizontal.forecast import level as _level

T0 = 1_700_352_000


def _totals(level_cores: float, days: int = 8, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(level_cores * 10, days * 1440) / 10  # Poisson-like noise around the level


def _history(level_cores: float, days: int = 8, seed: int = 7) -> HorizontalHistory:
    h = HorizontalHistory()
    ready = 10
    for minute, total in enumerate(_totals(level_cores, days, seed)):
        h.observe(T0 + 60 * minute, ready, float(ready), float(total) / ready)
    return h


def test_fitted_margin_meets_the_budget_in_sample() -> None:
    h = _history(8.0)
    weights, z, *_ = rk.fit(h, 0.02)
    usage = _totals(8.0)
    lv = np.array([_level(usage[i - 60:i], weights) for i in range(60, len(usage))])
    exceed = float(np.mean(usage[60:] > lv + z * np.sqrt(lv)))
    assert 0.015 <= exceed <= 0.025  # the decaying histogram's quantile, checked against the raw minutes
    assert weights in rk.LEVELS


def test_a_larger_budget_gives_a_lower_floor_and_more_load_a_higher_one() -> None:
    now = T0 + 8 * 86400
    policy = HorizontalPolicy(recommender="rikugame", min_replicas_floor=1, min_replicas_cap=1000,
                              max_replicas=1000, max_replicas_cap=1000, max_writes_per_hour=None)

    def floor(level: float, budget: float) -> int:
        h = _history(level)
        d = decide_horizontal(h, HPASettings(70, 2, 1000), policy.model_copy(
            update={"overload_budget_ratio": budget}), now, replicas=10, request_millicores=1000)
        # It aims at the highest target (90 %), raised by at most 5 points per day from 70 %.
        assert d.proposal is not None and d.proposal.target_utilization_percent == 90
        assert d.settings.target_utilization_percent == 75
        return d.settings.min_replicas

    assert floor(8.0, 0.001) > floor(8.0, 0.05)
    assert floor(16.0, 0.02) > floor(8.0, 0.02) >= 9  # above the mean load of 8 cores


def test_last_total_usage_keeps_the_last_hour_oldest_first() -> None:
    h = HorizontalHistory()
    for minute in range(7):
        h.observe(T0 + 60 * minute, 1, 1.0, float(minute))
    assert h.last_total_usage(3).tolist() == [4.0, 5.0, 6.0]
    assert h.last_total_usage(10).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    for minute in range(7, 100):
        h.observe(T0 + 60 * minute, 1, 1.0, float(minute))
    assert h.last_total_usage(60).tolist() == [float(m) for m in range(40, 100)]


def test_the_floor_rises_at_once_and_falls_only_past_the_hysteresis() -> None:
    now = T0 + 8 * 86400
    policy = HorizontalPolicy(recommender="rikugame", min_replicas_floor=1, min_replicas_cap=1000,
                              max_replicas=1000, max_replicas_cap=1000, max_writes_per_hour=None)
    h = _history(8.0)

    def floor(current: int) -> int:
        d = decide_horizontal(h, HPASettings(90, current, 1000), policy, now, replicas=current,
                              request_millicores=1000)
        assert d.settings.behavior.scale_down.stabilization_window_seconds == rk.SCALE_DOWN_WINDOW_SECONDS
        return d.settings.min_replicas

    weights, z, sd, *_ = rk.fit(h, policy.overload_budget_ratio)
    lv = _level(h.last_total_usage(60), weights)
    wanted = lv + z * np.sqrt(lv)
    band = int(np.ceil(wanted + rk.DOWN_DEADBAND_SD * sd * np.sqrt(lv) - 1e-9))
    forecast = floor(1)  # from below: raised to the forecast at once
    assert forecast == int(np.ceil(wanted - 1e-9))
    assert floor(forecast) == forecast
    assert floor(band) == band  # inside the hysteresis (a fraction of the error's sd above the forecast): kept
    assert floor(forecast + 10) == band  # far above: lowered to the top of the hysteresis, not below


def _target_way_policy(**update: object) -> HorizontalPolicy:
    return HorizontalPolicy(recommender="rikugame", min_replicas=2, min_replicas_floor=2, min_replicas_cap=1000,
                            max_replicas=1000, max_replicas_cap=1000, max_target_utilization_percent=100,
                            min_target_utilization_percent=50, target_update_interval_seconds=0,
                            max_target_increase_percent=100, overload_budget_ratio=0.01).model_copy(update=update)


def test_over_the_write_budget_the_target_leaves_room_for_a_one_minute_jump() -> None:
    # 400 cores with Poisson-like noise: the floor would move every minute (far over 2 writes an hour), while a
    # one-minute jump is a few % of the load: the HPA follows alone, at a target just below 1 − jump.
    now = T0 + 8 * 86400
    h = _history(400.0)
    policy = _target_way_policy()
    _, _, _, e_q, sd_last, floor_writes = rk.fit(h, policy.overload_budget_ratio)
    assert floor_writes > 2
    mean = float(h.last_total_usage(20).mean())
    jump = e_q / np.sqrt(mean)
    assert 0.01 < jump < 0.1
    d = decide_horizontal(h, HPASettings(70, 2, 1000), policy, now, replicas=400, request_millicores=1000)
    assert d.settings.target_utilization_percent == int(np.floor(100 * (1 - jump) + 1e-9))
    assert d.settings.min_replicas == 2  # no floor: minReplicas stays the policy's initial value
    down = d.settings.behavior.scale_down
    assert d.settings.behavior.scale_up.tolerance == 0.0
    assert down.tolerance == pytest.approx(round(sd_last / np.sqrt(mean), 2))
    assert down.stabilization_window_seconds == 0
    # Without per-direction tolerances the controller's 0.1 is assumed: the room is 1 − 1.1 × target.
    plain = decide_horizontal(h, HPASettings(70, 2, 1000), _target_way_policy(hpa_tolerance=False), now,
                              replicas=400, request_millicores=1000)
    assert plain.settings.target_utilization_percent == int(np.floor(100 * (1 - jump) / 1.1 + 1e-9))
    assert plain.settings.behavior.scale_down.tolerance is None
    # A wanted target only a point above the current one is not worth a write.
    kept = decide_horizontal(h, HPASettings(d.settings.target_utilization_percent - 1, 2, 1000, d.settings.behavior),
                             policy, now, replicas=400, request_millicores=1000)
    assert not kept.changed()
    # No budget: the floor way (minReplicas follows the forecast, target 90 %).
    free = decide_horizontal(h, HPASettings(70, 2, 1000), _target_way_policy(max_writes_per_hour=None), now,
                             replicas=400, request_millicores=1000)
    assert free.settings.target_utilization_percent == rk.FLOOR_WAY_TARGET == 90
    assert free.settings.min_replicas > 400


def test_bursts_larger_than_any_target_can_absorb_fall_back_to_the_floor() -> None:
    # 0.5 core with the same noise: a one-minute jump is most of the load, no target ≥ 50 % leaves room.
    now = T0 + 8 * 86400
    h = _history(0.5)
    d = decide_horizontal(h, HPASettings(70, 2, 1000), _target_way_policy(), now, replicas=2,
                          request_millicores=1000)
    assert d.proposal is not None and d.proposal.target_utilization_percent == rk.FLOOR_WAY_TARGET
    assert "minReplicas for load" in d.explanation
