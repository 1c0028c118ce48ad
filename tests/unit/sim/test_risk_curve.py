"""The memory risk knob's curve runs the real recommender (one CPU model, same memory decisions)."""

import numpy as np
import pytest

from rikugame.commands.backtest import demo_trace_path
from rikugame.sim import profiles, replaying, risk_curve
from rikugame.sources import traces


@pytest.fixture(scope="module")
def sample():
    return traces.load_trace(demo_trace_path(), max_entities=4)


@pytest.mark.parametrize("feedback", [False, True])
def test_one_cpu_model_leaves_every_memory_decision_unchanged(sample, feedback):
    spec = profiles.backtest_spec("rikugame")
    full = replaying.replay(sample, spec, oom_feedback=feedback)
    fast = replaying.replay(sample, spec, oom_feedback=feedback, recommender_settings=risk_curve.ONE_CPU_MODEL)
    assert np.array_equal(full.memory_request_bytes, fast.memory_request_bytes)
    assert full.oom_kills == fast.oom_kills


def test_more_headroom_costs_more_and_is_safer(sample):
    mib = 2**20
    points = risk_curve.memory_risk_curve(sample, profiles.backtest_spec("rikugame"),
                                          caps_bytes=[0, 256 * mib, 2048 * mib])
    allocs = [p.memory_alloc_ratio for p in points]
    safe = [p.oom_free_entity_days_ratio for p in points]
    assert allocs == sorted(allocs) and safe == sorted(safe)
    with pytest.raises(ValueError, match="rikugame"):
        risk_curve.memory_risk_curve(sample, profiles.backtest_spec("vpa"))
