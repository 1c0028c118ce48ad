"""``tortoise``: Mercari Tortoise's horizontal rules, as its source does them (pure restatement).

From mercari/tortoise (pkg/recommender/recommender.go, pkg/hpa/service.go, pkg/tortoise/tortoise.go;
``../shared/reference/peers-and-anchors.md`` §1.3):

* target: upper = ceil(MaxRecommendation / request × 100) where MaxRecommendation is the sticky max of the
  VPA target (P90 × 1.15 of per-pod usage); if the current target is above ``upper`` it is kept, else the
  new target = 100 − (upper − current target) (updateRecommendedContainerBasedMetric); an invalid result
  (≤ 0 or > 100) keeps the current one. The policy clips it to 65–90 and raises it by at most 5 points per
  change, evaluated at most once per 24 h (``decide_horizontal``);
* min/maxReplicas: the value of this hour-of-week slot of ``history.min_slots`` / ``max_slots``;
* behaviour: up at most +100 % per 60 s, down at most 2 % per 90 s (``TORTOISE_BEHAVIOR``);
* no target change while the workload runs at the hard maximum of replicas.
"""

from __future__ import annotations

import math

from rikugame.core.horizontal.hpa import TORTOISE_BEHAVIOR
from rikugame.core.horizontal.recommending import (
    HorizontalContext,
    HorizontalProposal,
    HorizontalReason,
    policy_behavior,
    register,
)


def tortoise_target(current_target_percent: int, max_recommendation_millicores: float,
                    request_millicores: float) -> tuple[int, bool]:
    """Tortoise's proposed target and whether the current one was kept because usage is low."""
    upper = math.ceil(max_recommendation_millicores / request_millicores * 100 - 1e-9)
    if current_target_percent > upper:
        return current_target_percent, True
    proposed = 100 - (upper - current_target_percent)
    if proposed <= 0 or proposed > 100:
        return current_target_percent, False
    return proposed, False


@register("tortoise")
def tortoise(ctx: HorizontalContext) -> HorizontalProposal:
    """Tortoise's target, hour-of-week min/max and behaviour."""
    h = ctx.history
    reasons = HorizontalReason.RECOMMENDED
    if ctx.replicas >= ctx.policy.max_replicas_cap:
        target, kept = ctx.current.target_utilization_percent, False
        reasons |= HorizontalReason.AT_MAX_REPLICAS
    else:
        target, kept = tortoise_target(ctx.current.target_utilization_percent,
                                       h.vpa_max_recommendation_cores * 1000, ctx.request_millicores)
    if kept:
        reasons |= HorizontalReason.TARGET_KEPT_LOW_USAGE
    explanation = (f"target from VPA max recommendation {h.vpa_max_recommendation_cores * 1000:.0f}m; "
                   f"min/max = this hour-of-week's max(ceil(replicas×0.5)) / max(ceil(replicas×2))")
    return HorizontalProposal(target, h.min_slots.value(ctx.now), h.max_slots.value(ctx.now),
                              policy_behavior(ctx.policy, TORTOISE_BEHAVIOR), explanation, reasons)
