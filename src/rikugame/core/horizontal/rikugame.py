"""``rikugame``: our horizontal recommender — a minReplicas floor forecast from the load actually seen.

Overloaded minutes come from load jumps that arrive faster than a new pod gets ready: the HPA reacts
only after the jump, so the capacity that exists when it arrives decides. rikugame keeps minReplicas at
a forecast of the next minute's load with a safety margin sized from the workload's own burstiness:

* level L = a weighted mean of the total CPU usage (Σ over pods, observable) of the last 1, 5, 20 and 60
  minutes; the weights are picked daily among ``LEVELS`` as the ones that would have needed the fewest
  pods on the retained history (4 weeks) at the same overload budget;
* margin: load(t + 1) − L(t) scales like sqrt(L) (request counts are Poisson-like), so
  z = the (1 − overloadBudgetRatio) quantile of (load(t + 1) − L(t)) / sqrt(L(t)) over that history —
  no distribution is assumed;
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

from rikugame.core.histograms import FloatArray
from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import DEFAULT_SCALE_DOWN, Behavior, ScalingRules
from rikugame.core.horizontal.recommending import (
    HorizontalContext,
    HorizontalProposal,
    policy_behavior,
    register,
)

WINDOWS_MINUTES = (1, 5, 20, 60)
LEVELS: tuple[tuple[float, ...], ...] = (
    (0.0, 0.0, 1.0, 0.0),
    (0.0, 0.0, 0.5, 0.5),
    (0.2, 0.2, 0.2, 0.4),
    (0.2, 0.0, 0.4, 0.4),
)
"""Candidate level weights over ``WINDOWS_MINUTES`` (the first: a plain 20-minute mean)."""
REFIT_SECONDS = 86400
MIN_FIT_MINUTES = 1440
DOWN_DEADBAND_SD = 0.35
"""Hysteresis on decreases, in units of the margin's noise scale sqrt(L): minReplicas is lowered only to
ceil(forecast + DOWN_DEADBAND_SD × sqrt(L)) (scale-free: about a pod at ×1000, a third of one at ×100)."""
SCALE_DOWN_WINDOW_SECONDS = 0
"""Scale-down stabilisation the policy sets on the HPA (the controller's default is 300 s)."""
BEHAVIOR = Behavior(scale_down=ScalingRules(DEFAULT_SCALE_DOWN.policies, SCALE_DOWN_WINDOW_SECONDS))


def levels(usage: FloatArray, weights: tuple[float, ...]) -> FloatArray:
    """The level after each minute i (from usage[..i]) for i ≥ the longest window − 1."""
    longest = max(WINDOWS_MINUTES)
    csum = np.concatenate(([0.0], np.cumsum(usage)))
    end = np.arange(longest, len(usage) + 1)  # exclusive end of the window
    out = np.zeros(len(end))
    for w, k in zip(weights, WINDOWS_MINUTES, strict=True):
        if w:
            out += w * (csum[end] - csum[end - k]) / k
    return out


def fit(history: HorizontalHistory, budget_ratio: float,
        request_cores: float) -> tuple[tuple[float, ...], float]:
    """(level weights, z) that would have needed the fewest pods on the retained history."""
    ts, usage, _, _ = history.recent(history.retention_minutes)
    longest = max(WINDOWS_MINUTES)
    if len(usage) < max(MIN_FIT_MINUTES, longest + 2):
        return LEVELS[0], 3.0
    # level after minute i predicts minute i + 1; both must be contiguous in time.
    first = longest - 1
    nxt = usage[first + 1:]
    contiguous = ts[first + 1:] - ts[: len(ts) - first - 1] == longest * 60
    best: tuple[float, tuple[float, ...], float] | None = None
    for weights in LEVELS:
        lv = levels(usage, weights)[:-1]
        ok = contiguous & (lv > 0)
        if ok.sum() < MIN_FIT_MINUTES // 2:
            continue
        root = np.sqrt(lv[ok])
        z = max(float(np.quantile((nxt[ok] - lv[ok]) / root, 1 - budget_ratio)), 0.0)
        pods = float(np.ceil((lv[ok] + z * root) / request_cores - 1e-9).sum())
        if best is None or pods < best[0]:
            best = (pods, weights, z)
    if best is None:
        return LEVELS[0], 3.0
    return best[1], best[2]


@register("rikugame")
def rikugame(ctx: HorizontalContext) -> HorizontalProposal:
    """Forecast floor for minReplicas, the policy's highest target, default behaviour."""
    h = ctx.history
    p = ctx.policy
    request_cores = ctx.request_millicores / 1000
    fitted = h.cache.get("rikugame")
    if fitted is None or ctx.now - fitted[0] >= REFIT_SECONDS:
        weights, z = fit(h, p.overload_budget_ratio, request_cores)
        terms = [(w / k, k) for w, k in zip(weights, WINDOWS_MINUTES, strict=True) if w]
        note = (f"{z:.2f} × sqrt(load) cores (level weights {weights} over {WINDOWS_MINUTES} min; "
                f"overload budget {p.overload_budget_ratio:.1%} of minutes)")
        fitted = (ctx.now, terms, z, note)
        h.cache["rikugame"] = fitted
    _, terms, z, note = fitted
    longest = max(WINDOWS_MINUTES)
    usage = h.last_total_usage(longest)
    if len(usage) < longest:
        usage = np.concatenate((np.full(longest - len(usage), usage.mean() if len(usage) else 0.0), usage))
    level = 0.0
    for scale, k in terms:
        level += scale * float(usage[longest - k:].sum())
    level = max(level, 0.0)
    root = math.sqrt(level)
    wanted = (level + z * root) / request_cores
    min_replicas = max(1, math.ceil(wanted - 1e-9))
    current = ctx.current.min_replicas
    if min_replicas < current:  # lowered late (hysteresis), never below the forecast
        min_replicas = max(min_replicas, min(current, math.ceil(
            wanted + DOWN_DEADBAND_SD * root / request_cores - 1e-9)))
    explanation = f"minReplicas for load {level:.2f} + {note}"
    return HorizontalProposal(p.max_target_utilization_percent, min_replicas, p.max_replicas,
                              policy_behavior(p, BEHAVIOR), explanation)
