"""How each recommender is run in a backtest when the user gives no policy.

Peer emulations (``vpa``, ``krr-simple``, ``window``) run as the peer does: their estimate is applied
as is, with no extra rate limits. ``tortoise`` adds Tortoise's own rules (VPA target × 1.1, scale down
once an hour by ≤ 20 %, bounds 50m–10 cores / 50Mi–10Gi). ``rikugame`` runs with its recommended
guardrails: the OOM bump and rate-limited decreases like Tortoise's, but a decrease at most every 6 h
(not every hour) by at most 30 % (not 20 %) — with 1 h the staircase alone makes p99 churn 12
changes/day on the Bitbrains trace; 6 h and 30 % keep it at 6 and let requests come down after a peak
within a day (README, "Backtest"). Traces are whole VMs, bigger than typical
containers, so the default bounds are widened to 1m–1000 cores / 1Mi–1Ti for everything but ``tortoise``.
"""

from __future__ import annotations

from typing import Any

from rikugame.core.policy import TunerSpec

WIDE_BOUNDS: dict[str, str] = {"minCpu": "1m", "maxCpu": "1000", "minMemory": "1Mi", "maxMemory": "1Ti"}
PASS_THROUGH: dict[str, Any] = {"scaleDownMaxRatio": 1.0, "scaleDownIntervalSeconds": 0}
RIKUGAME_RECOMMENDED: dict[str, Any] = {"scaleDownIntervalSeconds": 6 * 3600, "scaleDownMaxRatio": 0.3}

NATIVE: dict[str, dict[str, Any]] = {
    "vpa": {"bounds": WIDE_BOUNDS, "vertical": PASS_THROUGH},
    "krr-simple": {"bounds": WIDE_BOUNDS, "vertical": PASS_THROUGH},
    "window": {"bounds": WIDE_BOUNDS, "vertical": PASS_THROUGH},
    "tortoise": {},
    "rikugame": {"bounds": WIDE_BOUNDS, "vertical": RIKUGAME_RECOMMENDED},
}


def backtest_spec(recommender: str, policy: dict[str, Any] | None = None) -> TunerSpec:
    """The Tuner spec a backtest of ``recommender`` runs with (``policy`` overrides everything)."""
    base: dict[str, Any] = {"targetRef": {"name": "backtest"}, "recommender": recommender}
    if policy is not None:
        merged = {**policy, **base, "recommender": recommender}
        merged.setdefault("targetRef", base["targetRef"])
        return TunerSpec.model_validate(merged)
    return TunerSpec.model_validate({**base, **NATIVE.get(recommender, {"bounds": WIDE_BOUNDS})})
