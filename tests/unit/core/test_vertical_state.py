"""The core's state contract, walked over every registered recommender: any sample order gives the same
model, extra decide() calls change nothing, and a save/restore through JSON mid-trace changes nothing."""

import json

import numpy as np
import pytest

from rikugame.core import recommenders
from rikugame.core.checkpoints import CheckpointError
from rikugame.core.policy import TunerSpec
from rikugame.core.samples import UsageSamples
from rikugame.core.tuning import VerticalTuning

T0 = 1_700_000_000 // 86400 * 86400 + 3600 * 5
HOUR = 3600
GIB = 2**30
ROWS = 4


def trace(days: int = 4, seed: int = 3) -> UsageSamples:
    """Five-minute samples of ROWS containers with a daily cycle, bursts and a memory spike."""
    rng = np.random.default_rng(seed)
    n = days * 288
    ts = T0 + np.arange(n) * 300
    rows, times, cpu, mem = [], [], [], []
    for r in range(ROWS):
        daily = 1 + 0.5 * np.sin(2 * np.pi * (ts - T0) / 86400 + r)
        c = 0.2 * (r + 1) * daily * rng.lognormal(0, 0.3, n)
        m = (r + 1) * GIB / 2 * (1 + 0.1 * daily) * rng.uniform(0.9, 1.1, n)
        m[n // 2 + 7 * r] *= 2.5
        rows.append(np.full(n, r)), times.append(ts), cpu.append(c), mem.append(m)
    return UsageSamples.of(np.concatenate(rows), np.concatenate(times), np.concatenate(cpu), np.concatenate(mem))


def subset(s: UsageSamples, mask: np.ndarray) -> UsageSamples:
    return UsageSamples(s.rows[mask], s.timestamps[mask], s.cpu_cores[mask], s.memory_bytes[mask])


def spec(name: str) -> TunerSpec:
    return TunerSpec.model_validate({"targetRef": {"name": "w"}, "recommender": name, "mode": "Auto",
                                     "bounds": {"minCpu": "1m", "maxCpu": "1000", "minMemory": "1Mi",
                                                "maxMemory": "1Ti"}})


def hourly(s: UsageSamples) -> list[tuple[int, UsageSamples]]:
    hours = (s.timestamps - T0) // HOUR
    return [(T0 + h * HOUR, subset(s, hours == h)) for h in range(int(hours.max()) + 1)]


def decisions_of(t: VerticalTuning, now: int) -> tuple:
    d = t.decide(now)
    return (d.cpu.proposed.tolist(), d.cpu.decided.tolist(), d.cpu.reasons.tolist(), d.memory.proposed.tolist(),
            d.memory.decided.tolist(), d.memory.limit.tolist(), d.memory.reasons.tolist())


@pytest.mark.parametrize("name", recommenders.names())
def test_batches_of_pods_in_any_order_give_the_same_estimate_as_one_time_ordered_stream(name):
    """The report reads pods in batches, each batch in time chunks: rows 0-1 and 2-3 arrive separately,
    chunks of each batch newest first."""
    s = trace()
    end = int(s.timestamps.max()) + 1
    whole = recommenders.create(name, ROWS)
    whole.observe(s)
    pieces = recommenders.create(name, ROWS)
    chunk = (s.timestamps - T0) // 86400
    for rows in ((2, 3), (0, 1)):
        for c in sorted(set(chunk.tolist()), reverse=True):
            pieces.observe(subset(s, np.isin(s.rows, rows) & (chunk == c)))
    whole.advance(end)
    pieces.advance(end)
    a, b = whole.estimate(end), pieces.estimate(end)
    np.testing.assert_allclose(b.cpu_cores, a.cpu_cores, rtol=1e-9)
    np.testing.assert_allclose(b.memory_bytes, a.memory_bytes, rtol=1e-9)
    np.testing.assert_array_equal(b.sufficient, a.sufficient)
    np.testing.assert_array_equal(b.history_seconds, a.history_seconds)


@pytest.mark.parametrize("name", recommenders.names())
def test_memory_estimate_keeps_the_peak_whatever_order_batches_arrive_in(name):
    """The shared-ring bug: an older chunk after a newer one must not erase other rows' peaks."""
    s = trace()
    end = int(s.timestamps.max()) + 1
    ordered = recommenders.create(name, ROWS)
    ordered.observe(s)
    late = recommenders.create(name, ROWS)
    newest_day = (s.timestamps - T0) // 86400 == 3
    late.observe(subset(s, newest_day & (s.rows == 0)))
    late.observe(subset(s, ~(newest_day & (s.rows == 0))))
    np.testing.assert_allclose(late.estimate(end).memory_bytes, ordered.estimate(end).memory_bytes, rtol=1e-9)


@pytest.mark.parametrize("name", recommenders.names())
def test_extra_decide_calls_change_no_decision(name):
    s = trace()
    plain, probed = VerticalTuning(ROWS, spec(name)), VerticalTuning(ROWS, spec(name))
    for now, batch in hourly(s):
        for t in (plain, probed):
            t.advance(now)
        for extra in (now, now + 60, now + 1799):
            probed.decide(extra)  # a dry run, a status refresh, an OOM handler: never applied
        a, b = plain.decide(now), probed.decide(now)
        assert decisions_of(plain, now) == decisions_of(probed, now)
        plain.apply(a)
        probed.apply(b)
        plain.observe(batch)
        probed.observe(batch)


@pytest.mark.parametrize("name", recommenders.names())
def test_save_and_restore_through_json_mid_trace_changes_no_decision(name):
    s = trace()
    plain, restarted = VerticalTuning(ROWS, spec(name)), VerticalTuning(ROWS, spec(name))
    for k, (now, batch) in enumerate(hourly(s)):
        if k % 29 == 5:
            restarted = VerticalTuning.from_checkpoint(spec(name), json.loads(json.dumps(restarted.to_checkpoint())))
        for t in (plain, restarted):
            t.advance(now)
            t.apply(t.decide(now))
            t.observe(batch)
            if k == 50:
                t.record_oom(np.array([1]), np.array([now + 10]), np.array([3.0 * GIB]))
        assert decisions_of(plain, now + HOUR) == decisions_of(restarted, now + HOUR)


def test_decision_cadence_gates_advance():
    t = VerticalTuning(ROWS, spec("rikugame"))
    assert t.advance(T0) is True
    assert t.advance(T0 + 600) is False  # within the default 1 h decision interval
    assert t.advance(T0 + HOUR) is True
    assert t.last_advance == T0 + HOUR


def test_checkpoint_of_another_version_or_recommender_is_refused_with_the_reason():
    data = VerticalTuning(1, spec("vpa")).to_checkpoint()
    with pytest.raises(CheckpointError, match="version 99"):
        VerticalTuning.from_checkpoint(spec("vpa"), {**data, "version": 99})
    with pytest.raises(CheckpointError, match="recommender 'vpa'"):
        VerticalTuning.from_checkpoint(spec("rikugame"), data)
    with pytest.raises(CheckpointError, match="lacks field 'rows'"):
        VerticalTuning.from_checkpoint(spec("vpa"), {k: v for k, v in data.items() if k != "rows"})


def test_rikugame_checkpoint_after_four_days_is_small_per_container():
    s = trace()
    t = VerticalTuning(ROWS, spec("rikugame"))
    for now, batch in hourly(s):
        t.advance(now)
        t.apply(t.decide(now))
        t.observe(batch)
    sizes = [len(json.dumps(row)) for row in t.to_checkpoint()["rows"]]
    assert max(sizes) <= 16 * 1024
