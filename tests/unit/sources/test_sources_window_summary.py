"""The core's additive window-summary path (krr-simple) that the report feeds from PromQL statistics."""

from __future__ import annotations

import numpy as np
import pytest

from rikugame.commands.recommend_pipeline import report_spec
from rikugame.core import recommenders
from rikugame.core.samples import UsageSamples, WindowSummary
from rikugame.core.tuning import VerticalTuning

MIB = 2**20
DAY = 86400


def summary(cpu: list[float], mem: list[float], count: list[int], first: list[int], last: list[int],
            q: float = 0.95) -> WindowSummary:
    return WindowSummary(q, np.array(cpu), np.array(mem), np.array(count, dtype=np.int64),
                         np.array(first, dtype=np.int64), np.array(last, dtype=np.int64))


def test_krr_simple_takes_exact_statistics() -> None:
    rec = recommenders.create("krr-simple", 3)
    now = 20 * DAY
    rec.observe_summary(summary([0.12345, 0.001, np.nan], [900 * MIB, 10 * MIB, np.nan], [2000, 2000, 0],
                                [now - 14 * DAY, now - 3600, -1], [now, now, -1]))
    est = rec.estimate(now)
    assert est.cpu_cores[0] == pytest.approx(0.12345)           # exact, not a histogram read-out
    assert est.memory_bytes[0] == pytest.approx(900 * MIB * 1.15)
    assert est.cpu_cores[1] == 0.010 and est.memory_bytes[1] == 100 * MIB  # floors
    assert list(est.sufficient) == [True, False, False]          # 1 h < 3 h; no samples
    assert est.history_seconds[0] == 14 * DAY


def test_summary_merges_with_samples_and_rejects_other_percentiles() -> None:
    rec = recommenders.create("krr-simple", 1)
    now = 10 * DAY
    ts = np.arange(now - DAY, now, 60)
    rec.observe(UsageSamples.of(np.zeros(len(ts)), ts, np.full(len(ts), 0.5), np.full(len(ts), 2e9)))
    rec.observe_summary(summary([0.2], [1e9], [10], [now - 2 * DAY], [now]))
    est = rec.estimate(now)
    assert est.cpu_cores[0] == pytest.approx(0.2)      # the summary's percentile wins for its rows
    assert est.memory_bytes[0] == pytest.approx(2e9 * 1.15)  # memory: the larger maximum
    assert est.history_seconds[0] == 2 * DAY
    with pytest.raises(ValueError, match="P90"):
        rec.observe_summary(summary([0.2], [1e9], [10], [0], [now], q=0.90))


def test_tuning_observe_summary_and_refusal_for_sample_recommenders() -> None:
    now = 30 * DAY
    tuning = VerticalTuning(1, report_spec("krr-simple"))
    assert tuning.accepts_summary()
    tuning.set_current(np.array([500]), np.array([2**30]))
    tuning.observe_summary(summary([0.0501], [100 * MIB], [5000], [now - 14 * DAY], [now - 60]))
    d = tuning.decide(now)
    assert int(d.cpu.decided[0]) == 51 and int(d.memory.decided[0]) == int(np.ceil(100 * MIB * 1.15))
    vpa = VerticalTuning(1, report_spec("vpa"))
    assert not vpa.accepts_summary()
    with pytest.raises(TypeError, match="needs samples"):
        vpa.observe_summary(summary([0.1], [1.0], [1], [0], [1]))
