"""The HPA write budget (``maxWritesPerHour``): a token bucket in ``decide_horizontal``, kept in checkpoints."""

from __future__ import annotations

import json

import pytest

from rikugame.core.horizontal import HorizontalHistory, HorizontalPolicy, HPASettings, decide_horizontal
from rikugame.core.horizontal.deciding import HorizontalStatus, HorizontalTuning, bucket_size, write_tokens
from rikugame.core.horizontal.hpa import Behavior, ScalingRules
from rikugame.core.horizontal.recommending import HorizontalReason

T0 = 1_700_352_000
HOUR = 3600


def _history() -> HorizontalHistory:
    h = HorizontalHistory()
    h.observe(T0, 4, 4.0, 0.5)
    return h


def _static(target: int, budget: float | None) -> HorizontalPolicy:
    return HorizontalPolicy(recommender="static", target_utilization_percent=target, min_replicas=2,
                            min_replicas_floor=1, gathering_seconds=0, target_update_interval_seconds=0,
                            min_target_utilization_percent=1, max_target_utilization_percent=100,
                            max_target_increase_percent=100, max_writes_per_hour=budget)


def _flip_flop(budget: float | None, hours: int = 10) -> list[tuple[int, HPASettings]]:
    """A policy that wants another target every minute (60 % and 80 % in turn): every decide would write."""
    h = _history()
    current = HPASettings(70, 2, 100)
    status = HorizontalStatus()
    writes = []
    for minute in range(hours * 60):
        now = T0 + 60 * minute
        d = decide_horizontal(h, current, _static(60 if minute % 2 else 80, budget), now, replicas=4,
                              request_millicores=1000, status=status)
        if d.changed():
            writes.append((now, d.settings))
        current, status = d.settings, d.status
    return writes


@pytest.mark.parametrize("budget", [0.5, 1.0, 2.0, 6.0])
def test_writes_stay_within_the_budget(budget: float) -> None:
    writes = _flip_flop(budget)
    assert len(writes) <= budget * 10 + bucket_size(budget)
    assert len(writes) >= budget * 10 * 0.5  # the budget is used, not starved
    for start in range(0, 10 * HOUR, HOUR):  # over any span: at most rate × span + the bucket
        in_hours = [t for t, _ in writes if T0 + start <= t < T0 + start + 3 * HOUR]
        assert len(in_hours) <= budget * 3 + bucket_size(budget)


def test_no_budget_writes_every_time() -> None:
    assert len(_flip_flop(None, hours=1)) == 60


def test_a_protective_change_may_spend_the_last_write_a_saving_one_waits() -> None:
    h = _history()
    current = HPASettings(80, 2, 100)
    one_left = HorizontalStatus(write_tokens=1.0, tokens_seconds=T0)
    down = decide_horizontal(h, current, _static(60, 2.0), T0, replicas=4, request_millicores=1000, status=one_left)
    assert down.changed() and down.settings.target_utilization_percent == 60  # lower target = more pods
    assert down.status.write_tokens == pytest.approx(0.0)
    current = HPASettings(60, 2, 100)
    up = decide_horizontal(h, current, _static(80, 2.0), T0, replicas=4, request_millicores=1000, status=one_left)
    assert not up.changed() and HorizontalReason.WRITE_BUDGET in up.reasons
    later = decide_horizontal(h, current, _static(80, 2.0), T0 + HOUR // 2, replicas=4, request_millicores=1000,
                              status=one_left)  # half an hour at 2/h refills one write: a spare one
    assert later.changed() and later.status.write_tokens == pytest.approx(1.0)


def test_the_bucket_refills_at_the_rate_up_to_its_size() -> None:
    empty = HorizontalStatus(write_tokens=0.0, tokens_seconds=T0)
    assert write_tokens(2.0, empty, T0 + 900) == pytest.approx(0.5)
    assert write_tokens(2.0, empty, T0 + 10 * HOUR) == bucket_size(2.0) == 2.0
    assert write_tokens(0.5, HorizontalStatus(), T0) == bucket_size(0.5) == 1.0  # not started: full


def test_decide_is_pure_and_the_tokens_survive_a_checkpoint() -> None:
    policy = _static(60, 2.0)
    tuning = HorizontalTuning.start(policy, _history())
    tuning.current = HPASettings(80, 2, 100, Behavior(scale_down=ScalingRules(Behavior().scale_down.policies, 0,
                                                                              tolerance=0.03)))
    first = tuning.decide(T0, replicas=4, request_millicores=1000)
    assert tuning.decide(T0, replicas=4, request_millicores=1000) == first  # nothing changed by deciding
    tuning.apply(first)
    assert tuning.status.write_tokens == pytest.approx(1.0)
    data = json.loads(json.dumps(tuning.to_checkpoint()))
    again = HorizontalTuning.from_checkpoint(policy, data)
    assert again.status == tuning.status and again.current == tuning.current
    tolerant = HPASettings(80, 2, 100, Behavior(scale_down=ScalingRules(Behavior().scale_down.policies, 0,
                                                                        tolerance=0.03)))
    tuning.current = tolerant
    assert HorizontalTuning.from_checkpoint(policy, json.loads(json.dumps(tuning.to_checkpoint()))).current == tolerant
    del data["status"]["writeTokens"], data["status"]["tokensSeconds"]  # a checkpoint from before the budget
    assert HorizontalTuning.from_checkpoint(policy, data).status.write_tokens == -1.0
