"""``--load-scale N``: N aggregated user populations (mean kept, noise ∝ √N) or a plain copy (× N)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rikugame.sim.loadscale import centred_mean, scale_load
from rikugame.sim.service import ServiceModel, TrafficTrace


def _noisy(n_minutes: int = 20_000, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_minutes)
    level = 40 + 20 * np.sin(2 * np.pi * t / 1440)
    return rng.poisson(level).astype(float)


def test_copy_is_plain_multiplication() -> None:
    x = np.array([1.0, np.nan, 3.0, 0.0])
    out = scale_load(x, 7.0, "copy")
    assert np.array_equal(out[[0, 2, 3]], [7.0, 21.0, 0.0]) and np.isnan(out[1])


def test_aggregate_keeps_the_mean_and_scales_it_by_n() -> None:
    x = _noisy()
    for n in (10.0, 1000.0):
        out = scale_load(x, n)
        assert math.isclose(out.mean(), n * x.mean(), rel_tol=2e-3)


def test_aggregate_shrinks_the_coefficient_of_variation_by_sqrt_n() -> None:
    x = _noisy()
    m = centred_mean(x)
    cv1 = np.std(x - m) / m.mean()
    for n in (4.0, 100.0, 1000.0):
        out = scale_load(x, n)
        cv = np.std(out - n * m) / (n * m).mean()
        assert math.isclose(cv, cv1 / math.sqrt(n), rel_tol=1e-6), (n, cv, cv1)
        # ... which is what a sum of n independent Poisson populations shows: variance n·λ around n·λ.
        assert math.isclose(np.var(out - n * m) / (n * m).mean(), np.var(x - m) / m.mean(), rel_tol=1e-6)


def test_scale_one_is_the_trace_itself() -> None:
    x = _noisy(500)
    assert np.allclose(scale_load(x, 1.0), x)


def test_negative_values_are_clipped_at_zero() -> None:
    # A single spike in a quiet window: m ≈ 1/15 of it, so the minutes beside it go far below 0 at N = 0.01.
    x = np.zeros(30)
    x[15] = 150.0
    out = scale_load(x, 0.01)
    assert out.min() == 0.0
    raw = 0.01 * centred_mean(x) + 0.1 * (x - centred_mean(x))
    assert raw.min() < 0  # the clip did something


def test_coverage_rule_needs_five_covered_minutes_in_the_window() -> None:
    x = np.full(40, np.nan)
    x[10:14] = [10.0, 20.0, 30.0, 40.0]  # 4 covered minutes: no window around them has 5
    m = centred_mean(x)
    assert np.all(np.isnan(m))
    out = scale_load(x, 100.0)
    assert np.allclose(out[10:14], 100 * x[10:14])  # no level: scaled as a copy
    assert np.all(np.isnan(out[:10])) and np.all(np.isnan(out[14:]))  # uncovered minutes stay uncovered
    x[14] = 50.0  # a fifth covered minute: every window around 10..14 now holds all five
    m = centred_mean(x)
    assert np.allclose(m[10:15], 30.0)
    out = scale_load(x, 100.0)
    assert np.allclose(out[10:15], 100 * 30.0 + 10 * (x[10:15] - 30.0))


def test_the_centred_mean_ignores_uncovered_minutes() -> None:
    x = np.array([1.0] * 7 + [np.nan] + [3.0] * 7)
    assert math.isclose(centred_mean(x)[7], (7 * 1.0 + 7 * 3.0) / 14)


def test_the_service_model_uses_the_aggregate_by_default() -> None:
    x = _noisy(3000)
    trace = TrafficTrace(60 * np.arange(len(x), dtype=np.int64), x)
    agg, _ = trace.demand_cores(ServiceModel(load_scale=100.0))
    copy, _ = trace.demand_cores(ServiceModel(load_scale=100.0, scale_mode="copy"))
    assert math.isclose(agg.mean(), copy.mean(), rel_tol=1e-2)
    assert np.std(np.diff(agg)) < np.std(np.diff(copy)) / 5


@pytest.mark.parametrize("n", [0.0, -1.0, math.inf, math.nan])
def test_bad_scales_are_refused(n: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        scale_load(np.ones(3), n)
