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

The HPA write budget (``maxWritesPerHour``, ``deciding``) decides which of two ways the policy works, by
what the workload's load does:

* **floor** (the above) when the floor can follow the load within the budget: a floor moves when the
  load crosses a pod boundary, so it needs about 60 × mean |load(t+1) − load(t)| / request writes an hour
  (``ForecastErrors.mean_move``; the hysteresis only lowers that);
* **target** otherwise: the HPA follows the load alone and the policy sets its target so that the HPA's
  own reaction is safe. The HPA rescales only when utilization leaves target × (1 ± 0.1) (its tolerance)
  and reads the last minute, while a new pod serves a minute later; so the load may jump by
  e_q·sqrt(L)/L of itself (e_q = the (1 − overloadBudgetRatio) quantile of the normalised error of the
  last-minute forecast, the same statistics) after the HPA last saw it below target × 1.1:
  target = (1 − e_q / sqrt(L)) / 1.1, L the 20-minute mean. Raised only by ``TARGET_RAISE_STEP`` points
  or more (lowered at once), so writes stay rare; minReplicas stays the policy's initial value.
"""

from __future__ import annotations

import math

import numpy as np

from rikugame.core.horizontal.forecast import LAST_MINUTE, LEVELS, LONGEST_WINDOW_MINUTES, WINDOWS_MINUTES, level
from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import DEFAULT_SCALE_DOWN, HPA_TOLERANCE, Behavior, ScalingRules
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
DEFAULT_FIT = (LEVELS[0], 3.0, 1.0, 3.0, 0.0)
"""(weights, z, error sd, e_q of the last-minute forecast, floor writes per hour) before ``MIN_FIT_MINUTES`` of
history (the floor way: nothing is known of the load's movement yet)."""
TARGET_RAISE_STEP = 2
"""In the target way, the target is raised only when the wanted one is this many points above it (a
point of target is about 1 % of the replicas; each change is an HPA write)."""
DOWN_DEADBAND_SD = 0.35
"""Hysteresis on decreases, in standard deviations of the one-minute forecast error: minReplicas is lowered
only to ceil(forecast + margin + DOWN_DEADBAND_SD × s × sqrt(L)), s the error's sd in units of sqrt(L), read
as the 84.13 % quantile of the normalised error (one sd of a normal; robust to the tail that sets z)."""
SD_QUANTILE = 0.8413
SCALE_DOWN_WINDOW_SECONDS = 0
"""Scale-down stabilisation the policy sets on the HPA (the controller's default is 300 s)."""
BEHAVIOR = Behavior(scale_down=ScalingRules(DEFAULT_SCALE_DOWN.policies, SCALE_DOWN_WINDOW_SECONDS))


def fit(history: HorizontalHistory, budget_ratio: float, request_cores: float = 1.0
        ) -> tuple[tuple[float, ...], float, float, float, float]:
    """(level weights, z) whose floor L + z·sqrt(L) would have cost the least on the history's error
    statistics, z being each candidate's (1 − budget) quantile of the normalised error; the (1 − budget)
    quantile e_q of the last-minute forecast's error (the target way); the floor's writes per hour."""
    if history.count < max(MIN_FIT_MINUTES, LONGEST_WINDOW_MINUTES + 2):
        return DEFAULT_FIT
    errors = history.forecast_errors
    e_q = errors.quantile(LAST_MINUTE, 1 - budget_ratio) if errors.pairs[LAST_MINUTE] else DEFAULT_FIT[2]
    floor_writes = 60 * errors.mean_move() / request_cores
    best: tuple[float, tuple[float, ...], float, int] | None = None
    for c, weights in enumerate(LEVELS):
        if errors.pairs[c] < MIN_FIT_MINUTES // 2:
            continue
        z = errors.quantile(c, 1 - budget_ratio)
        cost = errors.mean_floor(c, z)
        if best is None or cost < best[0]:
            best = (cost, weights, z, c)
    if best is None:
        return DEFAULT_FIT
    return best[1], best[2], max(errors.quantile(best[3], SD_QUANTILE), 0.0), e_q, floor_writes


@register_advance("rikugame")
def refit(history: HorizontalHistory, policy: HorizontalPolicy, now: int, previous: Fitted | None) -> Fitted:
    """The fit, redone when ``REFIT_SECONDS`` have passed since the last one (values: weights..., z, error sd,
    e_q, floor writes per hour). The request is taken as 1 core for the write rate; ``rikugame`` rescales it."""
    if previous is not None and now - previous.seconds < REFIT_SECONDS:
        return previous
    weights, z, sd, e_q, floor_writes = fit(history, policy.overload_budget_ratio)
    return Fitted(now, (*weights, z, sd, e_q, floor_writes))


@register("rikugame")
def rikugame(ctx: HorizontalContext) -> HorizontalProposal:
    """Forecast floor for minReplicas, the policy's highest target, default behaviour."""
    h = ctx.history
    p = ctx.policy
    request_cores = ctx.request_millicores / 1000
    # Without an advance step so far (a driver that never called advance) the fit is computed, not kept.
    fitted = ctx.fitted if ctx.fitted is not None else refit(h, p, ctx.now, None)
    values = fitted.values
    weights, (z, sd, e_q, floor_writes) = values[:len(WINDOWS_MINUTES)], values[len(WINDOWS_MINUTES):]
    floor_writes /= request_cores
    if p.max_writes_per_hour is not None and floor_writes > p.max_writes_per_hour:
        return _target_way(ctx, e_q, floor_writes)
    note = (f"{z:.2f} × sqrt(load) cores (level weights {tuple(weights)} over {WINDOWS_MINUTES} min; "
            f"overload budget {p.overload_budget_ratio:.1%} of minutes)")
    longest = LONGEST_WINDOW_MINUTES
    usage = h.last_total_usage(longest)
    if len(usage) < longest:
        usage = np.concatenate((np.full(longest - len(usage), usage.mean() if len(usage) else 0.0), usage))
    load = max(level(usage, weights), 0.0)
    root = math.sqrt(load)
    wanted = (load + z * root) / request_cores
    min_replicas = max(1, math.ceil(wanted - 1e-9))
    current = ctx.current.min_replicas
    if min_replicas < current:  # lowered late (hysteresis), never below the forecast
        min_replicas = max(min_replicas, min(current, math.ceil(
            wanted + DOWN_DEADBAND_SD * sd * root / request_cores - 1e-9)))
    explanation = f"minReplicas for load {load:.2f} + {note}"
    return HorizontalProposal(p.max_target_utilization_percent, min_replicas, p.max_replicas,
                              policy_behavior(p, BEHAVIOR), explanation)


def _target_way(ctx: HorizontalContext, e_q: float, floor_writes: float) -> HorizontalProposal:
    """The HPA alone follows the load; the target leaves room for a one-minute jump (module docstring)."""
    p = ctx.policy
    usage = ctx.history.last_total_usage(WINDOWS_MINUTES[2])
    mean = float(usage.mean()) if len(usage) else 0.0
    jump = e_q / math.sqrt(mean) if mean > 0 else 1.0
    wanted = math.floor(100 * (1 - jump) / (1 + HPA_TOLERANCE) + 1e-9)
    wanted = min(max(wanted, p.min_target_utilization_percent), p.max_target_utilization_percent)
    current = ctx.current.target_utilization_percent
    target = current if current < wanted < current + TARGET_RAISE_STEP else wanted
    explanation = (f"target {wanted} % leaves room for a one-minute jump of {jump:.1%} of the load "
                   f"({e_q:.2f} × sqrt({mean:.2f} cores), overload budget {p.overload_budget_ratio:.1%}); the "
                   f"HPA follows the load alone: a floor would need ~{floor_writes:.1f} writes/h, over the "
                   f"budget of {p.max_writes_per_hour:g}")
    return HorizontalProposal(target, p.min_replicas, p.max_replicas, policy_behavior(p, BEHAVIOR), explanation)
