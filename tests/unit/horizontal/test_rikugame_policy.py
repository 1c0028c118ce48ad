"""rikugame's horizontal recommender: the floor follows the load with a margin fitted to the overload budget."""

from __future__ import annotations

import numpy as np

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
