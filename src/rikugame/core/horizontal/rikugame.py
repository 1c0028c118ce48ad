"""``rikugame``: our horizontal recommender — a minReplicas floor forecast from the load actually seen.

Overloaded minutes come from load jumps that arrive faster than a new pod gets ready: the HPA reacts
only after the jump, so the capacity that exists when it arrives decides. rikugame keeps minReplicas at
a forecast of the next minute's load with a safety margin sized from the workload's own burstiness:

* level L = mean total CPU usage (Σ over pods, observable) of the last ``LEVEL_MINUTES`` minutes;
* noise model learned from the retained history (recomputed daily): load(t) − L(t−1) has variance
  ≈ a × L (Poisson-like: request counts), and z = the (1 − overloadBudgetRatio) quantile of the
  standardised residual (load − L) / sqrt(a × L) — no distribution is assumed;
* minReplicas = ceil((L + z × sqrt(a × L)) / request): a pod at its request serves one request's worth;
* the HPA target is the policy's upper bound, so the HPA adds pods only when load runs above the
  forecast (a sustained ramp); its 300 s window and default behaviour stay.
"""

from __future__ import annotations

import math

import numpy as np

from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import Behavior
from rikugame.core.horizontal.recommending import (
    HorizontalContext,
    HorizontalProposal,
    policy_behavior,
    register,
)

LEVEL_MINUTES = 20
REFIT_SECONDS = 86400
FLOOR_HOLD_MINUTES = 1
"""The floor is the highest of the last N minutes' forecasts (N > 1: fewer HPA writes)."""


def noise_model(history: HorizontalHistory, budget_ratio: float,
                level_minutes: int = LEVEL_MINUTES) -> tuple[float, float]:
    """(a, z): variance ≈ a × level, z = the (1 − budget) quantile of standardised residuals."""
    ts, usage, _, _ = history.recent(history.retention_minutes)
    n = len(usage)
    if n < level_minutes + 60:
        return 1.0, 3.0
    csum = np.concatenate(([0.0], np.cumsum(usage)))
    level = (csum[level_minutes:n] - csum[:n - level_minutes]) / level_minutes  # minutes [j, j+k)
    ahead = usage[level_minutes:]
    contiguous = ts[level_minutes:] - ts[:n - level_minutes] == level_minutes * 60
    ok = contiguous & (level > 0)
    if ok.sum() < 60:
        return 1.0, 3.0
    resid = ahead[ok] - level[ok]
    a = float(np.mean(resid**2 / level[ok]))
    if a <= 0:
        return 1.0, 3.0
    z = float(np.quantile(resid / np.sqrt(a * level[ok]), 1 - budget_ratio))
    return a, max(z, 0.0)


@register("rikugame")
def rikugame(ctx: HorizontalContext) -> HorizontalProposal:
    """Forecast floor for minReplicas, the policy's highest target, default behaviour."""
    h = ctx.history
    p = ctx.policy
    fitted = h.cache.get("rikugame")
    if fitted is None or ctx.now - fitted[0] >= REFIT_SECONDS:
        fitted = (ctx.now, *noise_model(h, p.overload_budget_ratio))
        h.cache["rikugame"] = fitted
    _, a, z = fitted
    _, usage, _, _ = h.recent(LEVEL_MINUTES + FLOOR_HOLD_MINUTES - 1)
    if len(usage) == 0:
        usage = np.zeros(1)
    window = min(LEVEL_MINUTES, len(usage))
    csum = np.concatenate(([0.0], np.cumsum(usage)))
    levels = (csum[window:] - csum[:-window]) / window  # the level at each of the last hold minutes
    peak_level = float(levels.max())
    level = float(levels[-1])
    forecast = peak_level + z * math.sqrt(a * peak_level)
    min_replicas = max(1, math.ceil(forecast * 1000 / ctx.request_millicores - 1e-9))
    explanation = (f"minReplicas for load {level:.2f} + {z:.2f} × sqrt({a:.3f} × load) cores "
                   f"(overload budget {p.overload_budget_ratio:.1%} of minutes)")
    return HorizontalProposal(p.max_target_utilization_percent, min_replicas, p.max_replicas,
                              policy_behavior(p, Behavior()), explanation)
