"""Every registered recommender: conformance, determinism, and the behaviour each promises."""

import numpy as np
import pytest

from rikugame.core import recommenders
from rikugame.core.recommenders.base import Estimates, Recommender
from rikugame.core.samples import UsageSamples

T0 = 1_372_629_600
HOUR = 3600
GIB = 2**30


def synthetic(rows: int, hours: int, seed: int = 7) -> list[UsageSamples]:
    """Hourly batches of 5-minute samples: row r uses ~0.2·(r+1) cores and ~(r+1)/2 GiB, noisy."""
    rng = np.random.default_rng(seed)
    batches = []
    for h in range(hours):
        ts = T0 + h * HOUR + np.arange(12) * 300
        r = np.repeat(np.arange(rows), 12)
        t = np.tile(ts, rows)
        cpu = 0.2 * (r + 1) * rng.uniform(0.5, 1.5, len(r))
        mem = (r + 1) * GIB / 2 * rng.uniform(0.8, 1.2, len(r))
        batches.append(UsageSamples.of(r, t, cpu, mem))
    return batches


def feed(rec: Recommender, batches: list[UsageSamples]) -> Estimates:
    for k, batch in enumerate(batches):
        rec.advance(T0 + k * HOUR)
        rec.observe(batch)
    rec.advance(T0 + len(batches) * HOUR)
    return rec.estimate(T0 + len(batches) * HOUR)


@pytest.mark.parametrize("name", recommenders.names())
def test_registered_recommender_conforms_and_is_deterministic(name):
    a, b = recommenders.create(name, 3), recommenders.create(name, 3)
    assert isinstance(a, Recommender)
    batches = synthetic(3, 30)
    ea, eb = feed(a, batches), feed(b, batches)
    assert ea.cpu_cores.shape == (3,) and ea.memory_bytes.shape == (3,)
    assert np.array_equal(ea.cpu_cores, eb.cpu_cores)
    assert np.array_equal(ea.memory_bytes, eb.memory_bytes)
    assert ea.sufficient.all()
    assert ea.cpu_explanation and ea.memory_explanation
    # Bigger users get bigger recommendations.
    assert ea.cpu_cores[0] < ea.cpu_cores[2]
    assert ea.memory_bytes[0] < ea.memory_bytes[2]
    # Recommendations cover typical usage (row 2 uses ~0.6 cores, 1.5 GiB on average).
    assert ea.cpu_cores[2] > 0.6
    assert ea.memory_bytes[2] > 1.5 * GIB


@pytest.mark.parametrize("name", recommenders.names())
def test_a_row_without_samples_is_not_sufficient(name):
    rec = recommenders.create(name, 2)
    batch = synthetic(1, 5)
    for b in batch:
        rec.observe(b)
    est = rec.estimate(T0 + 5 * HOUR)
    assert bool(est.sufficient[0]) is True
    assert bool(est.sufficient[1]) is False


def test_unknown_recommender_lists_the_valid_names():
    with pytest.raises(KeyError, match="vpa"):
        recommenders.create("nope", 1)


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        recommenders.register("vpa")(object)  # type: ignore[arg-type]


def test_vpa_target_is_p90_plus_15_percent_and_respects_minimums():
    rec = recommenders.create("vpa", 2)
    ts = T0 + np.arange(100) * 60
    rec.observe(UsageSamples.of(np.zeros(100, int), ts, np.linspace(0.01, 1.0, 100), np.full(100, 2e9)))
    rec.observe(UsageSamples.of(np.ones(100, int), ts, np.full(100, 0.001), np.full(100, 1e6)))
    est = rec.estimate(int(ts[-1]))
    # P90 of 0.01..1.0 is ~0.9 (newer samples weigh a little more), bucket upper bound adds ≤ 5 %, ×1.15.
    assert 0.9 * 1.15 <= est.cpu_cores[0] <= 0.92 * 1.15 * 1.05
    assert est.cpu_cores[1] == pytest.approx(0.025)
    assert est.memory_bytes[1] == pytest.approx(250 * 2**20)


def test_vpa_memory_uses_daily_peaks_not_samples():
    """One short 4 GiB spike a day among 1 GiB samples: P90 of daily peaks is the spike."""
    rec = recommenders.create("vpa", 1)
    for day in range(3):
        ts = T0 + day * 86400 + np.arange(288) * 300
        mem = np.full(288, 1.0 * GIB)
        mem[100] = 4.0 * GIB
        rec.observe(UsageSamples.of(np.zeros(288, int), ts, np.full(288, 0.1), mem))
    est = rec.estimate(T0 + 3 * 86400)
    assert est.memory_bytes[0] > 4.0 * GIB * 1.15


def test_krr_simple_forgets_samples_older_than_its_window():
    rec = recommenders.create("krr-simple", 1)
    old = T0 + np.arange(12) * 300
    rec.observe(UsageSamples.of(np.zeros(12, int), old, np.full(12, 4.0), np.full(12, 8 * GIB)))
    new = T0 + 15 * 86400 + np.arange(12) * 300
    rec.observe(UsageSamples.of(np.zeros(12, int), new, np.full(12, 0.5), np.full(12, GIB)))
    est = rec.estimate(int(new[-1]) + 1)
    assert est.cpu_cores[0] < 0.6
    assert est.memory_bytes[0] == pytest.approx(1.15 * GIB, rel=0.01)


def test_window_holds_the_recent_maximum_for_an_hour():
    rec = recommenders.create("window", 1)
    ts = T0 + np.arange(12) * 300
    rec.observe(UsageSamples.of(np.zeros(12, int), ts, np.full(12, 2.0), np.full(12, GIB)))
    high = rec.estimate(T0 + HOUR).cpu_cores[0]
    later = T0 + 200 * HOUR + np.arange(12) * 300
    rec.observe(UsageSamples.of(np.zeros(12, int), later, np.full(12, 0.1), np.full(12, GIB)))
    held = rec.estimate(T0 + 201 * HOUR - 1800).cpu_cores[0]
    assert held < high  # the old peak decayed away over 200 hours …
    again = rec.estimate(T0 + 201 * HOUR).cpu_cores[0]
    assert again <= held  # … and the 1 h hold never raises a value by itself


def test_rikugame_memory_is_window_peak_plus_byte_headroom():
    rec = recommenders.create("rikugame", 2)
    ts = T0 + np.arange(12) * 300
    mem = np.concatenate([np.full(12, 100 * 2**20), np.full(12, 20 * GIB)])
    rows = np.repeat([0, 1], 12)
    rec.observe(UsageSamples.of(rows, np.tile(ts, 2), np.full(24, 0.1), mem))
    est = rec.estimate(T0 + HOUR)
    assert est.memory_bytes[0] == pytest.approx(200 * 2**20)  # small: +100 % (under the 1Gi cap)
    assert est.memory_bytes[1] == pytest.approx(21 * GIB)  # big: + the 1Gi cap


def test_rikugame_memory_keeps_a_spike_at_its_time_of_day_for_the_week_only():
    """A spike at 03:00 is kept near 03:00 on later days, forgotten at other hours once a day has passed,
    and forgotten everywhere after the 7-day window."""
    rec = recommenders.create("rikugame", 1)
    day0 = (T0 // 86400 + 1) * 86400
    ts = day0 + np.arange(10 * 24 * 12) * 300
    mem = np.full(len(ts), GIB, dtype=float)
    mem[(ts - day0) // 300 == 3 * 12] = 4 * GIB  # one sample at 03:00 on day 0
    rec.observe(UsageSamples.of(np.zeros(len(ts), int), ts, np.full(len(ts), 0.1), mem))

    def at(day: int, hour: int) -> float:
        return float(rec.estimate(day0 + day * 86400 + hour * HOUR).memory_bytes[0])

    assert at(3, 15) == pytest.approx(2 * GIB)  # quiet level + min(1Gi, peak)
    assert at(3, 4) == pytest.approx(5 * GIB)  # the spike's hour (±2 h), within the week
    assert at(3, 1) == pytest.approx(5 * GIB)
    assert at(3, 7) == pytest.approx(2 * GIB)
    assert at(0, 20) == pytest.approx(5 * GIB)  # within the last 24 h: any hour
    assert at(8, 4) == pytest.approx(2 * GIB)  # older than the 7-day window


def test_rikugame_picks_a_tighter_cpu_model_for_steady_usage():
    """A steady container ends up closer to its usage than a bursty one with the same mean."""
    rec = recommenders.create("rikugame", 2)
    rng = np.random.default_rng(1)
    for h in range(24 * 10):
        ts = T0 + h * HOUR + np.arange(12) * 300
        steady = np.full(12, 1.0)
        bursty = rng.choice([0.2, 4.2], size=12, p=[0.8, 0.2])
        rec.estimate(T0 + h * HOUR)
        rec.observe(UsageSamples.of(np.repeat([0, 1], 12), np.tile(ts, 2), np.concatenate([steady, bursty]),
                                    np.full(24, GIB)))
    est = rec.estimate(T0 + 240 * HOUR)
    assert est.cpu_cores[0] < 1.2
    assert est.cpu_cores[1] > 4.0


def test_window_keeps_the_previous_hours_value_for_one_more_read_out():
    """Hourly decisions: a drop shows one hour late (max of this and the last hour's recommendation)."""
    rec = recommenders.create("window", 1)
    ts = T0 + np.arange(12) * 300
    rec.observe(UsageSamples.of(np.zeros(12, int), ts, np.full(12, 2.0), np.full(12, GIB)))
    rec.advance(T0 + HOUR)
    high = rec.estimate(T0 + HOUR).cpu_cores[0]
    later = T0 + 200 * HOUR + np.arange(12) * 300
    rec.observe(UsageSamples.of(np.zeros(12, int), later, np.full(12, 0.1), np.full(12, GIB)))
    assert rec.estimate(T0 + 2 * HOUR).cpu_cores[0] == pytest.approx(high)  # held one hour
    rec.advance(T0 + 2 * HOUR)
    low = rec.estimate(T0 + 201 * HOUR).cpu_cores[0]
    assert low < high


def test_vpa_bounds_widen_with_little_history_and_bracket_the_target():
    """Confidence c = min(days, samples/1440): upper ×(1 + 1/c), lower ×(1 + 0.001/c)^-2 (VPA)."""
    rec = recommenders.create("vpa", 1)
    ts = T0 + np.arange(1440) * 60  # one day of 1-minute samples: c = 1
    cpu = 0.5 + 0.5 * np.sin(np.arange(1440) / 50)
    rec.observe(UsageSamples.of(np.zeros(1440, int), ts, cpu, np.full(1440, GIB)))
    est = rec.estimate(int(ts[-1]))
    assert est.cpu_lower_cores[0] < est.cpu_cores[0] < est.cpu_upper_cores[0]
    p95 = rec.cpu.percentile(0.95)[0]
    c = (int(ts[-1]) - T0) / 86400
    assert est.cpu_upper_cores[0] == pytest.approx(p95 * 1.15 * (1 + 1 / c))
    assert est.cpu_lower_cores[0] == pytest.approx(rec.cpu.percentile(0.5)[0] * 1.15 * (1 + 0.001 / c) ** -2)
