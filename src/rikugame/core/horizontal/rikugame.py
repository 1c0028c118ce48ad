"""``rikugame``: our horizontal recommender — a minReplicas floor or an HPA target from the load it sees.

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
  fallen ``DOWN_DEADBAND_SD`` error sds (× sqrt(L)) below the current floor (hysteresis scaled by the
  forecast's own one-minute noise, so a forecast hovering at a pod boundary does not rewrite the HPA every
  minute);
* the HPA target is ``FLOOR_WAY_TARGET`` (90 %, capped by the policy's upper bound), so the HPA adds pods
  only when load runs above the forecast; its scale-down stabilisation window is 0 s
  (``SCALE_DOWN_WINDOW_SECONDS``): the floor is already the forward-looking lower bound, and the default
  300 s window kept burst-driven pods five minutes after each burst.

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
  or more (lowered at once), so writes stay rare; minReplicas stays the policy's initial value. When
  even the policy's lowest target leaves too little room (bursts as large as the load itself), the HPA
  cannot protect by reacting, and the floor way runs anyway, as often as the budget lets it write.

With ``hpaTolerance`` the target way also sets the HPA's per-direction tolerance (KEP-4951): 0 up (any
excess adds pods: the room is then 1 − target, not 1 − 1.1 × target) and, down, one sd of the minute's
relative noise (sd_last / sqrt(L), capped at the controller's 0.1: pods are not removed for a dip the
noise explains). So target = 1 − e_q / sqrt(L).
"""

from __future__ import annotations

import math

import numpy as np

from rikugame.core.horizontal.forecast import LAST_MINUTE, LEVELS, LONGEST_WINDOW_MINUTES, WINDOWS_MINUTES, level
from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HPA_TOLERANCE,
    Behavior,
    HPASettings,
    ScalingRules,
)
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
DEFAULT_FIT = (LEVELS[0], 3.0, 1.0, 3.0, 1.0, 0.0)
"""(weights, z, error sd, e_q and error sd of the last-minute forecast, floor writes per hour) before
``MIN_FIT_MINUTES`` of history (the floor way: nothing is known of the load's movement yet)."""
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
FLOOR_WAY_TARGET = math.floor(100 / (1 + HPA_TOLERANCE) + 1e-9)
"""The floor way's HPA target, 90 %: the highest at which the HPA (default tolerance) still adds pods before
a pod's usage passes its request (90 % × 1.1 = 99 %)."""
TOLERANCE_STEP = 0.01
"""The scale-down tolerance is set in whole percent (fewer distinct settings, fewer writes)."""


def fit(history: HorizontalHistory, budget_ratio: float, request_cores: float = 1.0
        ) -> tuple[tuple[float, ...], float, float, float, float, float]:
    """(level weights, z) whose floor L + z·sqrt(L) would have cost the least on the history's error
    statistics, z being each candidate's (1 − budget) quantile of the normalised error, and that
    candidate's error sd; the (1 − budget) quantile e_q and the sd of the last-minute forecast's error (the
    target way); the floor's writes per hour. An sd is read as the 84.13 % quantile (``SD_QUANTILE``)."""
    if history.count < max(MIN_FIT_MINUTES, LONGEST_WINDOW_MINUTES + 2):
        return DEFAULT_FIT
    errors = history.forecast_errors
    if errors.pairs[LAST_MINUTE]:
        e_q = errors.quantile(LAST_MINUTE, 1 - budget_ratio)
        sd_last = max(errors.quantile(LAST_MINUTE, SD_QUANTILE), 0.0)
    else:
        e_q, sd_last = DEFAULT_FIT[3], DEFAULT_FIT[4]
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
    sd = max(errors.quantile(best[3], SD_QUANTILE), 0.0)
    return best[1], best[2], sd, e_q, sd_last, floor_writes


@register_advance("rikugame")
def refit(history: HorizontalHistory, policy: HorizontalPolicy, now: int, previous: Fitted | None) -> Fitted:
    """The fit, redone when ``REFIT_SECONDS`` have passed since the last one (values: weights..., z, error sd,
    e_q, last-minute error sd, floor writes per hour). The request is taken as 1 core for the write rate;
    ``rikugame`` rescales it."""
    if previous is not None and now - previous.seconds < REFIT_SECONDS:
        return previous
    weights, *rest = fit(history, policy.overload_budget_ratio)
    return Fitted(now, (*weights, *rest))


@register("rikugame")
def rikugame(ctx: HorizontalContext) -> HorizontalProposal:
    """The floor way or the target way (module docstring), as the write budget allows."""
    h = ctx.history
    p = ctx.policy
    request_cores = ctx.request_millicores / 1000
    # Without an advance step so far (a driver that never called advance) the fit is computed, not kept.
    fitted = ctx.fitted if ctx.fitted is not None else refit(h, p, ctx.now, None)
    values = fitted.values
    n = len(WINDOWS_MINUTES)
    weights, (z, sd, e_q, sd_last, floor_writes) = values[:n], values[n:n + 5]
    floor_writes /= request_cores
    if p.max_writes_per_hour is not None and floor_writes > p.max_writes_per_hour:
        proposal = _target_way(ctx, e_q, sd_last, floor_writes)
        if proposal is not None:
            return proposal
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
    return HorizontalProposal(min(FLOOR_WAY_TARGET, p.max_target_utilization_percent), min_replicas,
                              p.max_replicas, policy_behavior(p, BEHAVIOR), explanation)


def _target_way(ctx: HorizontalContext, e_q: float, sd_last: float, floor_writes: float
                ) -> HorizontalProposal | None:
    """The HPA alone follows the load; the target leaves room for a one-minute jump (module docstring).
    None when no target in the policy's range leaves that room (bursts bigger than the HPA can absorb:
    only a floor, however stale the budget keeps it, protects)."""
    p = ctx.policy
    usage = ctx.history.last_total_usage(WINDOWS_MINUTES[2])
    mean = float(usage.mean()) if len(usage) else 0.0
    root = math.sqrt(mean) if mean > 0 else 0.0
    jump = e_q / root if root > 0 else 1.0
    if p.hpa_tolerance:
        up_tolerance = 0.0
        noise = sd_last / root if root > 0 else HPA_TOLERANCE
        down_tolerance: float | None = round(min(HPA_TOLERANCE, max(noise, TOLERANCE_STEP)) / TOLERANCE_STEP
                                             ) * TOLERANCE_STEP
        down_tolerance = round(down_tolerance or 0.0, 3)
    else:
        up_tolerance, down_tolerance = HPA_TOLERANCE, None
    wanted = math.floor(100 * (1 - jump) / (1 + up_tolerance) + 1e-9)
    if wanted < p.min_target_utilization_percent:
        return None
    wanted = min(wanted, p.max_target_utilization_percent)
    current = ctx.current
    behavior = target_way_behavior(down_tolerance, p.hpa_tolerance)
    target = wanted
    if current.target_utilization_percent < wanted < current.target_utilization_percent + TARGET_RAISE_STEP:
        target = current.target_utilization_percent  # not worth a write: keep the settings as they are
        if _same_shape(current, behavior):
            behavior = current.behavior
    tolerance_note = (f"; scale up above the target, down below {1 - (down_tolerance or 0):.0%} of it (one sd "
                      f"of the minute's noise)" if p.hpa_tolerance else "")
    explanation = (f"target {wanted} % leaves room for a one-minute jump of {jump:.1%} of the load "
                   f"({e_q:.2f} × sqrt({mean:.2f} cores), overload budget {p.overload_budget_ratio:.1%})"
                   f"{tolerance_note}; the HPA follows the load alone: a floor would need ~{floor_writes:.1f} "
                   f"writes/h, over the budget of {p.max_writes_per_hour:g}")
    return HorizontalProposal(target, p.min_replicas, p.max_replicas, policy_behavior(p, behavior), explanation)


def target_way_behavior(down_tolerance: float | None, with_tolerance: bool) -> Behavior:
    """The target way's behaviour: 0 s scale-down window; with tolerances, 0 up (any excess adds pods) and
    ``down_tolerance`` down."""
    if not with_tolerance:
        return BEHAVIOR
    return Behavior(
        scale_up=ScalingRules(DEFAULT_SCALE_UP.policies, DEFAULT_SCALE_UP.stabilization_window_seconds,
                              tolerance=0.0),
        scale_down=ScalingRules(DEFAULT_SCALE_DOWN.policies, SCALE_DOWN_WINDOW_SECONDS, tolerance=down_tolerance))


def _same_shape(current: HPASettings, behavior: Behavior) -> bool:
    """The current behaviour differs from ``behavior`` at most in the scale-down tolerance."""
    now = current.behavior
    return (now.scale_up == behavior.scale_up and now.scale_down.tolerance is not None
            and now.scale_down.policies == behavior.scale_down.policies
            and now.scale_down.stabilization_window_seconds == behavior.scale_down.stabilization_window_seconds)
