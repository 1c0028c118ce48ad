"""HorizontalTuning's state: decide is pure, advance runs on its cadence, checkpoints restore exactly."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable

import numpy as np
import pytest

from rikugame.core.checkpoints import decode_array, encode_array
from rikugame.core.histograms import CPU_LAYOUT
from rikugame.core.horizontal import HorizontalPolicy, HorizontalTuning, HPASettings, names
from rikugame.core.horizontal import rikugame as rk
from rikugame.core.horizontal.forecast import ERROR_LAYOUT, LEVELS
from rikugame.core.horizontal.history import MAX_PENDING_MINUTES
from rikugame.sim.service import ServiceModel, TrafficTrace, simulate
from rikugame.sim.traffic import CoreDriver

T0 = 1_700_352_000  # a Sunday, 00:00 UTC
DAY = 86400
MAX_CHECKPOINT_BYTES = 32 * 1024
Step = tuple[int, HPASettings]


def _policy(recommender: str) -> HorizontalPolicy:
    """Short gathering and target interval, so a few days exercise every rule and two refits."""
    return HorizontalPolicy(recommender=recommender, gathering_seconds=DAY, target_update_interval_seconds=3 * 3600,
                            min_replicas=2, min_replicas_floor=2, min_replicas_cap=1000, max_replicas=1000,
                            max_replicas_cap=1000)


def _load(days: int, seed: int = 3) -> np.ndarray:
    """Total CPU demand (cores) per minute: a daily wave, Poisson-like noise and a few bursts."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(days * 1440)
    mean = 20 + 15 * np.sin(2 * np.pi * minutes / 1440)
    load = rng.poisson(mean * 10) / 10
    bursts = rng.random(len(minutes)) < 0.003
    return load + bursts * rng.exponential(15, len(minutes))


def _drive(tuning: HorizontalTuning, load: np.ndarray, *, extra_decides: bool = False,
           restart_every_minutes: int | None = None) -> tuple[list[Step], HorizontalTuning]:
    """observe → advance → decide → apply each minute, with a crude HPA (replicas follow load / target)."""
    replicas = 2
    applied: list[Step] = []
    for minute, demand in enumerate(load):
        now = T0 + 60 * minute
        if restart_every_minutes and minute and minute % restart_every_minutes == 0:
            data = json.dumps(tuning.to_checkpoint()).encode()
            tuning = HorizontalTuning.from_checkpoint(tuning.policy, json.loads(data))
        tuning.observe(now, replicas, float(replicas), float(demand) / replicas + 0.05)
        tuning.advance(now)
        if extra_decides:  # dry runs, status refreshes, OOM-triggered reads: results thrown away
            for dt, reps, request in ((0, replicas, 1000), (30, replicas + 5, 800), (7 * 3600, 1, 1000)):
                tuning.decide(now + dt, replicas=reps, request_millicores=request)
        decision = tuning.decide(now, replicas=replicas, request_millicores=1000)
        tuning.apply(decision)
        applied.append((now, decision.settings))
        s = decision.settings
        replicas = min(max(math.ceil(float(demand) / (s.target_utilization_percent / 100) - 1e-9),
                           s.min_replicas), s.max_replicas)
    return applied, tuning


@pytest.mark.parametrize("recommender", names())
def test_extra_decide_calls_change_no_decision_and_no_state(recommender: str) -> None:
    load = _load(3)
    plain, a = _drive(HorizontalTuning.start(_policy(recommender)), load)
    busy, b = _drive(HorizontalTuning.start(_policy(recommender)), load, extra_decides=True)
    assert busy == plain
    assert b.to_checkpoint() == a.to_checkpoint()
    assert len({s for _, s in plain}) > 1 or recommender == "static"  # the trace does move the settings


@pytest.mark.parametrize("recommender", names())
def test_restoring_checkpoints_mid_trace_equals_the_uninterrupted_run(recommender: str) -> None:
    load = _load(3)
    plain, a = _drive(HorizontalTuning.start(_policy(recommender)), load)
    restarted, b = _drive(HorizontalTuning.start(_policy(recommender)), load, restart_every_minutes=7 * 60 + 13)
    assert restarted == plain
    assert b.to_checkpoint() == a.to_checkpoint()


@pytest.mark.parametrize("recommender", names())
def test_simulated_cluster_with_restarts_every_five_hours_applies_the_same_settings(recommender: str) -> None:
    ts = T0 + 60 * np.arange(3 * 1440, dtype=np.int64)
    trace = TrafficTrace(ts, _load(3, seed=5) * 60 / (1000 * 0.010))  # requests/min giving that many cores
    model = ServiceModel(load_scale=1000, warmup_seconds=DAY)
    plain = simulate(trace, CoreDriver(recommender, _policy(recommender), model), model)
    driver = CoreDriver(recommender, _policy(recommender), model, restart_every_seconds=5 * 3600)
    restarted = simulate(trace, driver, model)
    assert restarted.settings_changes == plain.settings_changes
    assert len(driver.checkpoint_bytes) == 3 * 24 // 5  # at 5 h, 10 h, … 70 h
    assert max(driver.checkpoint_bytes) <= MAX_CHECKPOINT_BYTES


def test_refit_runs_once_per_cadence_and_its_time_is_kept() -> None:
    load = _load(3)
    tuning = HorizontalTuning.start(_policy("rikugame"))
    _, tuning = _drive(tuning, load[: 2 * 1440 + 10])
    fitted = tuning.fits["rikugame"]
    assert fitted.seconds == T0 + 2 * DAY  # fits at 1 d and 2 d (gathering 1 d, cadence REFIT_SECONDS)
    tuning.advance(T0 + 2 * DAY + rk.REFIT_SECONDS - 60)
    assert tuning.fits["rikugame"] is fitted
    tuning.advance(T0 + 2 * DAY + rk.REFIT_SECONDS)
    assert tuning.fits["rikugame"].seconds == T0 + 2 * DAY + rk.REFIT_SECONDS
    restored = HorizontalTuning.from_checkpoint(tuning.policy, json.loads(json.dumps(tuning.to_checkpoint())))
    assert restored.fits == tuning.fits


def test_nothing_is_fitted_while_gathering() -> None:
    tuning = HorizontalTuning.start(_policy("rikugame"))
    _, tuning = _drive(tuning, _load(1)[:600])
    assert tuning.fits == {}


def test_checkpoint_after_four_weeks_is_small_and_round_trips_exactly() -> None:
    tuning = HorizontalTuning.start(_policy("rikugame"))
    load = _load(29, seed=11)
    for minute, demand in enumerate(load):
        now = T0 + 60 * minute
        tuning.observe(now, 10, 10.0, float(demand) / 10)
        if minute % 60 == 0:
            tuning.advance(now)
    data = json.dumps(tuning.to_checkpoint()).encode()
    assert len(data) <= 24 * 1024  # a bursty workload stays well under the 32 KiB bound
    again = HorizontalTuning.from_checkpoint(tuning.policy, json.loads(data))
    assert json.dumps(again.to_checkpoint()).encode() == data
    h, g = tuning.history, again.history
    assert np.array_equal(g.forecast_errors.weights, h.forecast_errors.weights)
    assert np.array_equal(g.usage_histogram.weights, h.usage_histogram.weights)
    assert g.vpa_max_recommendation_cores == h.vpa_max_recommendation_cores


def test_checkpoint_with_every_bucket_and_pending_slot_filled_stays_within_32_kib() -> None:
    tuning = HorizontalTuning.start(_policy("tortoise"))
    for minute in range(MAX_PENDING_MINUTES - 1):  # the most minutes the VPA buffer ever holds
        tuning.observe(T0 + 61 * minute, 1000, 1000.0, 0.5 + minute / 7)
    tuning.history.vpa_refresh_seconds = 10**9
    h = tuning.history
    rng = np.random.default_rng(0)
    h.forecast_errors.weights[:] = rng.random((len(LEVELS), ERROR_LAYOUT.num_buckets)) * 1e6
    h.usage_histogram.weights[:] = rng.random((1, CPU_LAYOUT.num_buckets)) * 1e6
    h.min_slots.values = [10**6 + i for i in range(168)]
    h.max_slots.values = [10**6 + i for i in range(168)]
    h.min_slots.updated = [T0 + 10**8 + i for i in range(168)]
    h.max_slots.updated = [T0 + 10**8 + i for i in range(168)]
    tuning.fits["rikugame"] = rk.Fitted(T0, (*LEVELS[2], math.pi))
    data = json.dumps(tuning.to_checkpoint()).encode()
    assert len(data) <= MAX_CHECKPOINT_BYTES
    again = HorizontalTuning.from_checkpoint(tuning.policy, json.loads(data))  # the dense encoding reads back
    assert np.array_equal(again.history.forecast_errors.weights, h.forecast_errors.weights)
    assert json.dumps(again.to_checkpoint()).encode() == data


def test_unknown_version_is_rejected_with_the_version_named() -> None:
    data = HorizontalTuning.start(_policy("static")).to_checkpoint()
    data["version"] = 2
    with pytest.raises(ValueError, match=r"checkpoint\.version: unknown version 2"):
        HorizontalTuning.from_checkpoint(_policy("static"), data)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("history"), r"checkpoint\.history: missing"),
    (lambda d: d.__setitem__("status", []), r"checkpoint\.status: expected an object"),
    (lambda d: d["history"].__setitem__("recentUsageCores", "not base64!"),
     r"checkpoint\.history\.recentUsageCores: not valid base64"),
    (lambda d: d["history"]["minSlots"].__setitem__("values", [3, 3, 3]),
     r"checkpoint\.history\.minSlots\.values: expected 168 values, got 3"),
    (lambda d: d["history"]["maxSlots"].__setitem__("updated", encode_array(np.zeros(3, dtype=np.int64))),
     r"checkpoint\.history\.maxSlots\.updated: expected 168 values, got 3"),
    (lambda d: d["history"]["forecastErrors"].__setitem__("bucketIndex", encode_array(
        np.array([7, 3], dtype=np.uint16))), r"checkpoint\.history\.forecastErrors\.bucketIndex: expected incr"),
    (lambda d: d["history"]["usageHistogram"].__setitem__("bucketRange", [5, 10**6]),
     r"checkpoint\.history\.usageHistogram\.bucketRange: \[5, 1000000\] is outside"),
    (lambda d: d["current"].__setitem__("minReplicas", "3"), r"checkpoint\.current\.minReplicas: expected an "),
    (lambda d: d["current"]["scaleUp"].__setitem__("selectPolicy", "Sometimes"),
     r"checkpoint\.current\.scaleUp\.selectPolicy"),
    (lambda d: d["history"].__setitem__("count", -1), r"checkpoint\.history\.count: must not be negative"),
])
def test_malformed_checkpoints_are_rejected_naming_the_field(mutate: Callable[[dict], object],
                                                              message: str) -> None:
    tuning = HorizontalTuning.start(_policy("rikugame"))
    for minute in range(90):
        tuning.observe(T0 + 60 * minute, 3, 3.0, 0.5)
    data = json.loads(json.dumps(tuning.to_checkpoint()))
    mutate(data)
    with pytest.raises(ValueError, match=message):
        HorizontalTuning.from_checkpoint(_policy("rikugame"), data)


def test_arrays_round_trip_bit_for_bit_as_little_endian_base64() -> None:
    values = np.array([0.1, -0.0, math.inf, 1e-310, np.nextafter(1.0, 2.0)])
    text = encode_array(values)
    assert base64.b64decode(text) == values.astype("<f8").tobytes()
    back = decode_array(text, np.float64)
    assert back.tobytes() == values.tobytes()
    assert decode_array(encode_array(np.array([-1, 2**40], dtype=np.int64)), np.int64).tolist() == [-1, 2**40]
    with pytest.raises(ValueError, match="whole number of float64"):
        decode_array(base64.b64encode(b"12345").decode(), np.float64)
