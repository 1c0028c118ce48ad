"""Guardrails: pure post-processing steps applied to estimates, each recording its Reason.

The chain (in order): hold on missing data → OOM bump → deadband → scale-down cool-down →
scale-down step limit → bounds. Each step is a function of arrays; nothing here estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rikugame.core.decisions import Reason
from rikugame.core.histograms import FloatArray, IntArray
from rikugame.core.recommenders.base import BoolArray


@dataclass(frozen=True)
class ResourceRules:
    """The numbers the chain needs for one resource (integer units)."""

    minimum: IntArray | int
    maximum: IntArray | int
    scale_down_max_ratio: float
    scale_down_interval_seconds: int
    min_change_ratio: float


@dataclass
class Proposal:
    """A value per row being worked on by the chain, with the reasons so far."""

    value: IntArray
    reasons: IntArray


def hold_on_missing_data(p: Proposal, current: IntArray, *, sufficient: BoolArray, fresh: BoolArray) -> None:
    """Without enough or recent history keep the current value (grow only; never shrink)."""
    has_current = current >= 0
    insufficient = ~sufficient
    p.value[insufficient & has_current] = current[insufficient & has_current]
    p.reasons[insufficient] |= Reason.INSUFFICIENT_HISTORY
    stale = sufficient & ~fresh & has_current
    p.value[stale] = np.maximum(p.value[stale], current[stale])
    p.reasons[stale] |= Reason.STALE_METRICS


def oom_bump(p: Proposal, *, oom: BoolArray, base: FloatArray, ratio: float, min_bytes: int) -> None:
    """After an OOM, memory rises at once to max(base × (1 + ratio), base + min_bytes)."""
    bumped = np.ceil(np.maximum(base * (1 + ratio), base + min_bytes)).astype(np.int64)
    raise_rows = oom & (bumped > p.value)
    p.value[raise_rows] = bumped[raise_rows]
    p.reasons[oom] |= Reason.OOM_BUMP


def deadband(p: Proposal, current: IntArray, *, min_change_ratio: float) -> None:
    """Skip decreases smaller than ``min_change_ratio`` of the current value (increases always pass)."""
    if min_change_ratio <= 0:
        return
    has_current = current > 0
    small = has_current & (p.value < current) & (current - p.value < min_change_ratio * current)
    p.value[small] = current[small]
    p.reasons[small] |= Reason.BELOW_MIN_CHANGE


def scale_down_cooldown(p: Proposal, current: IntArray, *, last_decrease: IntArray, now: int,
                        interval_seconds: int) -> None:
    """No decrease within ``interval_seconds`` of the previous one."""
    blocked = (p.value < current) & (last_decrease >= 0) & (now - last_decrease < interval_seconds)
    p.value[blocked] = current[blocked]
    p.reasons[blocked] |= Reason.SCALE_DOWN_COOLDOWN


def scale_down_step(p: Proposal, current: IntArray, *, max_ratio: float) -> None:
    """A decrease is cut to at most ``max_ratio`` of the current value per step."""
    floor = np.ceil(current * (1 - max_ratio)).astype(np.int64)
    limited = (current > 0) & (p.value < floor)
    p.value[limited] = floor[limited]
    p.reasons[limited] |= Reason.SCALE_DOWN_STEP_LIMIT


def bounds(p: Proposal, *, minimum: IntArray | int, maximum: IntArray | int) -> None:
    """Clip to [minimum, maximum] (scalars or one value per row)."""
    low = p.value < minimum
    high = p.value > maximum
    p.value[:] = np.clip(p.value, minimum, maximum)
    p.reasons[low] |= Reason.MIN_BOUND
    p.reasons[high] |= Reason.MAX_BOUND


def apply_chain(proposed: IntArray, current: IntArray, rules: ResourceRules, *, now: int,
                sufficient: BoolArray, fresh: BoolArray, last_decrease: IntArray,
                oom: BoolArray | None = None, oom_base: FloatArray | None = None,
                oom_ratio: float = 0.2, oom_min_bytes: int = 0) -> Proposal:
    """Run the whole chain for one resource and return the decided values with reasons."""
    p = Proposal(value=proposed.copy(), reasons=np.full(len(proposed), int(Reason.RECOMMENDED), np.int64))
    p.reasons[current < 0] |= Reason.NO_CURRENT
    hold_on_missing_data(p, current, sufficient=sufficient, fresh=fresh)
    if oom is not None and oom_base is not None:
        oom_bump(p, oom=oom, base=oom_base, ratio=oom_ratio, min_bytes=oom_min_bytes)
    # The remaining steps only soften changes of rows that have a current value.
    deadband(p, current, min_change_ratio=rules.min_change_ratio)
    scale_down_cooldown(p, current, last_decrease=last_decrease, now=now,
                        interval_seconds=rules.scale_down_interval_seconds)
    scale_down_step(p, current, max_ratio=rules.scale_down_max_ratio)
    bounds(p, minimum=rules.minimum, maximum=rules.maximum)
    p.reasons[p.value != proposed] &= ~int(Reason.RECOMMENDED)
    return p


def freeze_shrink(p: Proposal, current: IntArray) -> None:
    """Emergency: no value goes below the current one."""
    blocked = (current >= 0) & (p.value < current)
    p.value[blocked] = current[blocked]
    p.reasons[blocked] |= Reason.EMERGENCY_FREEZE
    p.reasons[blocked] &= ~int(Reason.RECOMMENDED)


def untuned(p: Proposal, current: IntArray, *, tuned: BoolArray) -> None:
    """Resources the Tuner does not tune keep their current value (none stays none)."""
    off = ~tuned
    p.value[off] = current[off]
    p.reasons[off] = int(Reason.NOT_TUNED)
