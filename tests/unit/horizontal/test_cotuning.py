"""Co-tuning: a vertical request change moves the HPA target so the replica count holds (no feedback loop)."""

from __future__ import annotations

import math

from rikugame.core.horizontal import (
    HorizontalHistory,
    HorizontalPolicy,
    HorizontalReason,
    HorizontalStatus,
    HPASettings,
    cotune_request,
    cotune_target,
    decide_horizontal,
)
from rikugame.core.horizontal.hpa import replicas_at_target

DEMAND_MILLICORES = 20_000.0  # total load the service needs


def test_target_scales_inversely_with_the_request() -> None:
    co = cotune_target(70, 1000, 800)
    assert co.target_utilization_percent == 88 and co.preserved  # 70 * 1000 / 800 = 87.5 -> 88
    clipped = cotune_target(70, 1000, 500, max_percent=90)
    assert clipped.target_utilization_percent == 90 and not clipped.preserved
    assert cotune_request(1000, 70, 80) == 875


def _rounds(cotune: bool, rounds: int = 12) -> list[tuple[int, int, int]]:
    """Alternate a VPA-like vertical decision (request = per-pod usage × 1.15) and the HPA/horizontal side."""
    history = HorizontalHistory()
    history.observe(0, 10, 10.0, 2.0)
    policy = HorizontalPolicy(recommender="static", gathering_seconds=0, min_target_utilization_percent=1,
                              max_target_utilization_percent=100, min_replicas=1, min_replicas_floor=1,
                              target_update_interval_seconds=10**9)
    settings = HPASettings(70, 1, 100)
    status = HorizontalStatus()
    request = 2000
    replicas = replicas_at_target(DEMAND_MILLICORES / 10, 10, request, settings.target_utilization_percent)
    trail = []
    for i in range(rounds):
        now = 3600 * (i + 1)
        # Horizontal side (co-tuning sees the request the container has now, or the old one if disabled).
        seen = request if cotune or status.request_millicores < 0 else status.request_millicores
        d = decide_horizontal(history, settings, policy, now, replicas=replicas, request_millicores=seen,
                              status=status)
        settings, status = d.settings, d.status
        # The HPA settles at the current load.
        replicas = replicas_at_target(DEMAND_MILLICORES / replicas, replicas, request,
                                      settings.target_utilization_percent)
        trail.append((request, settings.target_utilization_percent, replicas))
        # Vertical side: request = per-pod usage × 1.15.
        request = math.ceil(DEMAND_MILLICORES / replicas * 1.15)
    return trail


def test_alternating_decisions_converge_with_cotuning() -> None:
    trail = _rounds(cotune=True)
    assert trail[-1] == trail[-2] == trail[-3]  # a fixed point: nothing moves any more
    assert trail[-1][2] <= 2 * trail[0][2]  # and the replica count did not run away


def test_without_cotuning_the_loop_runs_away() -> None:
    trail = _rounds(cotune=False)
    assert trail[-1][2] > 10 * trail[0][2]  # requests shrink, replicas grow: the HPA/VPA feedback loop
    assert trail[-1][0] < trail[0][0] / 5


def test_cotuning_is_reported() -> None:
    history = HorizontalHistory()
    history.observe(0, 10, 10.0, 2.0)
    policy = HorizontalPolicy(recommender="static", gathering_seconds=0, max_target_utilization_percent=100)
    d = decide_horizontal(history, HPASettings(70, 3, 100), policy, 60, replicas=10, request_millicores=800,
                          status=HorizontalStatus(0, 1000))
    assert d.settings.target_utilization_percent == 88
    assert HorizontalReason.CO_TUNED in d.reasons
