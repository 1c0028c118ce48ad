"""``rikugame``: our horizontal recommender — a minReplicas floor forecast from the load actually seen.

Overloaded minutes come from load jumps that arrive faster than a new pod gets ready: the HPA reacts
only after the jump, so the capacity that exists when it arrives decides. rikugame keeps minReplicas at
a forecast of the next minute's load with a safety margin sized from the workload's own burstiness:

* level L = a weighted mean of the total CPU usage (Σ over pods, observable) of the last 1, 5, 20 and 60
  minutes (``forecast``); the weights are picked among ``LEVELS`` as the ones whose floor would have cost
  the least on the workload's history at the same overload budget;
* margin: load(t + 1) − L(t) scales like sqrt(L) (request counts are Poisson-like), so
  z = the (1 − overloadBudgetRatio) quantile of (load(t + 1) − L(t)) / sqrt(L(t)) — no distribution is
  assumed. Both are read from ``history.forecast_errors`` (decaying histograms of that error and sums of
  L and sqrt(L), about two weeks' mean age) by ``refit``, the advance step, once per ``REFIT_SECONDS``;
* minReplicas = ceil((L + z × sqrt(L)) / request), raised at once; lowered only when the forecast has
  fallen ``DOWN_DEADBAND_SD`` × sqrt(L) below the current floor (hysteresis scaled by the forecast's
  own one-minute noise, so a forecast hovering at a pod boundary does not rewrite the HPA every minute);
* the HPA target is the policy's upper bound, so the HPA adds pods only when load runs above the
  forecast; its scale-down stabilisation window is 0 s (``SCALE_DOWN_WINDOW_SECONDS``): the floor is
  already the forward-looking lower bound, and the default 300 s window kept burst-driven pods five
  minutes after each burst.
"""

from __future__ import annotations

import math

import numpy as np

from rikugame.core.horizontal.forecast import LEVELS, LONGEST_WINDOW_MINUTES, WINDOWS_MINUTES, level
from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import DEFAULT_SCALE_DOWN, Behavior, ScalingRules
from rikugame.core.horizontal.policy import HorizontalPolicy
from rikugame.core.horizontal.recommending import (
    Fitted,
    HorizontalContext,
    HorizontalProposal,
    policy_behavior,
    register,
    register_advance,
)

REFIT_SECONDS = 86400
MIN_FIT_MINUTES = 1440
DEFAULT_FIT = (LEVELS[0], 3.0)
"""(weights, z) before ``MIN_FIT_MINUTES`` of history."""
DOWN_DEADBAND_SD = 0.35
"""Hysteresis on decreases, in units of the margin's noise scale sqrt(L): minReplicas is lowered only to
ceil(forecast + DOWN_DEADBAND_SD × sqrt(L)) (scale-free: about a pod at ×1000, a third of one at ×100)."""
SCALE_DOWN_WINDOW_SECONDS = 0
"""Scale-down stabilisation the policy sets on the HPA (the controller's default is 300 s)."""
BEHAVIOR = Behavior(scale_down=ScalingRules(DEFAULT_SCALE_DOWN.policies, SCALE_DOWN_WINDOW_SECONDS))


def fit(history: HorizontalHistory, budget_ratio: float) -> tuple[tuple[float, ...], float]:
    """(level weights, z) whose floor L + z·sqrt(L) would have cost the least on the history's error
    statistics, z being each candidate's (1 − budget) quantile of the normalised error."""
    if history.count < max(MIN_FIT_MINUTES, LONGEST_WINDOW_MINUTES + 2):
        return DEFAULT_FIT
    errors = history.forecast_errors
    best: tuple[float, tuple[float, ...], float] | None = None
    for c, weights in enumerate(LEVELS):
        if errors.pairs[c] < MIN_FIT_MINUTES // 2:
            continue
        z = errors.quantile(c, 1 - budget_ratio)
        cost = errors.mean_floor(c, z)
        if best is None or cost < best[0]:
            best = (cost, weights, z)
    if best is None:
        return DEFAULT_FIT
    return best[1], best[2]


@register_advance("rikugame")
def refit(history: HorizontalHistory, policy: HorizontalPolicy, now: int, previous: Fitted | None) -> Fitted:
    """The fit, redone when ``REFIT_SECONDS`` have passed since the last one (values: weights..., z)."""
    if previous is not None and now - previous.seconds < REFIT_SECONDS:
        return previous
    weights, z = fit(history, policy.overload_budget_ratio)
    return Fitted(now, (*weights, z))


@register("rikugame")
def rikugame(ctx: HorizontalContext) -> HorizontalProposal:
    """Forecast floor for minReplicas, the policy's highest target, default behaviour."""
    h = ctx.history
    p = ctx.policy
    request_cores = ctx.request_millicores / 1000
    # Without an advance step so far (a driver that never called advance) the fit is computed, not kept.
    fitted = ctx.fitted if ctx.fitted is not None else refit(h, p, ctx.now, None)
    *weights, z = fitted.values
    note = (f"{z:.2f} × sqrt(load) cores (level weights {tuple(weights)} over {WINDOWS_MINUTES} min; "
            f"overload budget {p.overload_budget_ratio:.1%} of minutes)")
    longest = LONGEST_WINDOW_MINUTES
    usage = h.last_total_usage(longest)
    if len(usage) < longest:
        usage = np.concatenate((np.full(longest - len(usage), usage.mean() if len(usage) else 0.0), usage))
    load = max(level(usage, tuple(weights)), 0.0)
    root = math.sqrt(load)
    wanted = (load + z * root) / request_cores
    min_replicas = max(1, math.ceil(wanted - 1e-9))
    current = ctx.current.min_replicas
    if min_replicas < current:  # lowered late (hysteresis), never below the forecast
        min_replicas = max(min_replicas, min(current, math.ceil(
            wanted + DOWN_DEADBAND_SD * root / request_cores - 1e-9)))
    explanation = f"minReplicas for load {load:.2f} + {note}"
    return HorizontalProposal(p.max_target_utilization_percent, min_replicas, p.max_replicas,
                              policy_behavior(p, BEHAVIOR), explanation)
