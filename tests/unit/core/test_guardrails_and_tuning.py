"""Guardrails (each rule on its own) and VerticalTuning (the chain driven end to end)."""

import numpy as np
import pytest
from pydantic import ValidationError

from rikugame.core import guardrails
from rikugame.core.decisions import Reason
from rikugame.core.policy import TunerSpec
from rikugame.core.samples import UsageSamples
from rikugame.core.tuning import VerticalTuning

T0 = 1_372_629_600
HOUR = 3600
MIB = 2**20
GIB = 2**30


def arr(*values):
    return np.array(values, dtype=np.int64)


def rules(**kw):
    base = dict(minimum=50, maximum=10_000, scale_down_max_ratio=0.2, scale_down_interval_seconds=3600,
                min_change_ratio=0.0)
    base.update(kw)
    return guardrails.ResourceRules(**base)


def chain(proposed, current, *, now=T0, sufficient=None, fresh=None, last_decrease=None, **kw):
    n = len(proposed)
    return guardrails.apply_chain(
        proposed, current, kw.pop("rules", rules()), now=now,
        sufficient=np.ones(n, bool) if sufficient is None else sufficient,
        fresh=np.ones(n, bool) if fresh is None else fresh,
        last_decrease=np.full(n, -1) if last_decrease is None else last_decrease, **kw)


def test_scale_up_is_immediate():
    p = chain(arr(900), arr(100))
    assert p.value[0] == 900
    assert Reason(int(p.reasons[0])) == Reason.RECOMMENDED


def test_scale_down_is_cut_to_twenty_percent_per_step():
    p = chain(arr(100), arr(1000))
    assert p.value[0] == 800
    assert Reason.SCALE_DOWN_STEP_LIMIT in Reason(int(p.reasons[0]))
    assert Reason.RECOMMENDED not in Reason(int(p.reasons[0]))


def test_scale_down_waits_an_hour_after_the_last_decrease():
    p = chain(arr(900), arr(1000), now=T0 + 1800, last_decrease=arr(T0))
    assert p.value[0] == 1000
    assert Reason.SCALE_DOWN_COOLDOWN in Reason(int(p.reasons[0]))
    q = chain(arr(900), arr(1000), now=T0 + 3600, last_decrease=arr(T0))
    assert q.value[0] == 900


def test_missing_history_never_shrinks():
    p = chain(arr(10, 10), arr(500, 500), sufficient=np.array([False, True]), fresh=np.array([True, False]))
    assert list(p.value) == [500, 500]
    assert Reason.INSUFFICIENT_HISTORY in Reason(int(p.reasons[0]))
    assert Reason.STALE_METRICS in Reason(int(p.reasons[1]))


def test_stale_metrics_still_allow_growth():
    p = chain(arr(900), arr(500), fresh=np.array([False]))
    assert p.value[0] == 900


def test_oom_raises_memory_at_once_over_the_observed_peak():
    r = rules(minimum=50 * MIB, maximum=10 * GIB)
    small = chain(arr(300 * MIB), arr(400 * MIB), rules=r, oom=np.array([True]),
                  oom_base=np.array([400.0 * MIB]), oom_ratio=0.2, oom_min_bytes=100 * MIB)
    assert small.value[0] == 500 * MIB  # +100Mi beats +20 % at 400Mi
    big = chain(arr(1 * GIB), arr(2 * GIB), rules=r, oom=np.array([True]), oom_base=np.array([2.0 * GIB]),
                oom_ratio=0.2, oom_min_bytes=100 * MIB)
    assert big.value[0] == int(np.ceil(2.4 * GIB))
    assert Reason.OOM_BUMP in Reason(int(big.reasons[0]))


def test_bounds_apply_last():
    p = chain(arr(5, 50_000), arr(-1, -1))
    assert list(p.value) == [50, 10_000]
    assert Reason.MIN_BOUND in Reason(int(p.reasons[0]))
    assert Reason.MAX_BOUND in Reason(int(p.reasons[1]))
    assert Reason.NO_CURRENT in Reason(int(p.reasons[0]))


def test_deadband_skips_small_decreases_but_never_an_increase():
    p = chain(arr(950, 1050, 800), arr(1000, 1000, 1000), rules=rules(min_change_ratio=0.1))
    assert list(p.value) == [1000, 1050, 800]
    assert Reason.BELOW_MIN_CHANGE in Reason(int(p.reasons[0]))


def test_reason_describe_lists_flag_names():
    assert (Reason.OOM_BUMP | Reason.MAX_BOUND).describe() == ["OOM_BUMP", "MAX_BOUND"]


def spec(**kw):
    return TunerSpec.model_validate({"targetRef": {"name": "web"}, "recommender": "vpa", **kw})


def test_policy_defaults_are_safe_and_the_rate_limits_are_the_recommenders_backtested_ones():
    s = TunerSpec.model_validate({"targetRef": {"name": "web"}})
    assert s.mode.value == "Off"
    assert s.bounds.min_cpu_millicores == 50 and s.bounds.max_cpu_millicores == 10_000
    assert s.bounds.min_memory_bytes == 50 * MIB and s.bounds.max_memory_bytes == 10 * GIB
    assert s.recommender == "rikugame"
    g = s.guardrails()
    assert g.scale_down_max_ratio == 0.3 and g.scale_down_interval_seconds == 6 * 3600
    t = s.model_copy(update={"recommender": "tortoise"}).guardrails()
    assert t.scale_down_max_ratio == 0.2 and t.scale_down_interval_seconds == 3600
    own = TunerSpec.model_validate({"targetRef": {"name": "w"}, "vertical": {"scaleDownMaxRatio": 0.1}})
    assert own.guardrails().scale_down_max_ratio == 0.1
    assert own.guardrails().scale_down_interval_seconds == 6 * 3600
    assert s.vertical.oom_bump_ratio == 0.2 and s.vertical.oom_min_bump_bytes == 100 * MIB
    # memory: rikugame's own preset (once a day, straight to the estimate); others follow their CPU limits
    assert g.memory_scale_down_interval_seconds == 86400 and g.memory_scale_down_max_ratio == 1.0
    assert t.memory_scale_down_interval_seconds == 3600 and t.memory_scale_down_max_ratio == 0.2
    vpa = TunerSpec.model_validate({"targetRef": {"name": "w"}, "recommender": "vpa",
                                    "vertical": {"scaleDownIntervalSeconds": 7200}}).guardrails()
    assert vpa.memory_scale_down_interval_seconds == 7200 and vpa.memory_scale_down_max_ratio == 1.0


@pytest.mark.parametrize(("patch", "field"), [
    pytest.param({"bounds": {"minCpu": "lots"}}, "minCpu", id="bad-quantity"),
    pytest.param({"bounds": {"minCpu": "2", "maxCpu": "1"}}, "minCpu", id="crossed-bounds"),
    pytest.param({"vertical": {"scaleDownMaxRatio": 1.5}}, "scaleDownMaxRatio", id="ratio-range"),
    pytest.param({"mode": "Sometimes"}, "mode", id="bad-mode"),
    pytest.param({"surprise": 1}, "surprise", id="unknown-field"),
])
def test_invalid_policy_is_rejected_naming_the_field(patch, field):
    with pytest.raises(ValidationError, match=field):
        spec(**patch)


def test_horizontal_policy_is_part_of_the_tuner_spec():
    assert spec().horizontal is None
    s = spec(horizontal={"minReplicas": 4, "maxReplicas": 40})
    assert s.horizontal is not None and s.horizontal.min_replicas == 4
    with pytest.raises(ValidationError, match="minReplicas"):
        spec(horizontal={"minReplicas": 0})


def test_tuning_decides_without_changing_state_until_applied():
    t = VerticalTuning(1, spec())
    ts = T0 + np.arange(12) * 300
    t.observe(UsageSamples.of(np.zeros(12, int), ts, np.full(12, 0.5), np.full(12, GIB)))
    d1 = t.decide(T0 + HOUR)
    d2 = t.decide(T0 + HOUR)
    assert np.array_equal(d1.cpu.decided, d2.cpu.decided)
    assert t.current_cpu_millicores[0] == -1
    t.apply(d1)
    assert t.current_cpu_millicores[0] == d1.cpu.decided[0] > 500
    assert t.current_memory_bytes[0] == d1.memory.decided[0] > GIB


def test_tuning_holds_requests_when_metrics_stop():
    t = VerticalTuning(1, spec())
    t.set_current(arr(2000), arr(4 * GIB))
    ts = T0 + np.arange(12) * 300
    t.observe(UsageSamples.of(np.zeros(12, int), ts, np.full(12, 0.1), np.full(12, 0.1 * GIB)))
    d = t.decide(T0 + 10 * HOUR)  # last sample 9 h ago: stale
    assert d.cpu.decided[0] == 2000 and d.memory.decided[0] == 4 * GIB
    assert Reason.STALE_METRICS in Reason(int(d.cpu.reasons[0]))


def test_tuning_bumps_memory_after_an_oom():
    t = VerticalTuning(1, spec())
    t.set_current(arr(500), arr(GIB))
    ts = T0 + np.arange(12) * 300
    t.observe(UsageSamples.of(np.zeros(12, int), ts, np.full(12, 0.1), np.full(12, 0.5 * GIB)))
    t.record_oom(arr(0), arr(T0 + 3000), np.array([1.0 * GIB]))
    d = t.decide(T0 + HOUR)
    assert d.memory.decided[0] >= int(1.2 * GIB)
    assert Reason.OOM_BUMP in Reason(int(d.memory.reasons[0]))
    t.apply(d)
    assert not t.oom_pending.any()
