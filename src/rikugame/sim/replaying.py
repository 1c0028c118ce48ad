"""Replaying a usage trace through the decision core, period by period (never seeing the future).

Every ``recompute_seconds`` the tuning decides on the history seen so far; the decision is the request
(and, memory limit = request, the limit) for the next period. Samples of that period are then observed;
a memory sample above the limit is an OOM kill, reported to the tuning like the operator would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rikugame.core.histograms import IntArray
from rikugame.core.policy import LimitPolicy, TunerSpec
from rikugame.core.samples import UsageSamples
from rikugame.core.tuning import VerticalTuning
from rikugame.sim.traces import Trace

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Replay:
    """What a replay applied: one request per period (rows of the arrays) and container (columns)."""

    recommender: str
    period_starts: IntArray
    cpu_request_millicores: IntArray
    memory_request_bytes: IntArray
    memory_limit_bytes: IntArray | None
    sample_period: IntArray
    """For every trace sample, the index of the period it fell in."""
    oom_kills: int
    """Samples whose memory usage exceeded the limit (OOM exposures)."""


def period_index(trace: Trace, recompute_seconds: int) -> tuple[int, IntArray]:
    """The start of period 0 and every sample's period index."""
    start = int(trace.timestamps.min() // recompute_seconds * recompute_seconds)
    return start, ((trace.timestamps - start) // recompute_seconds).astype(np.int64)


def replay(trace: Trace, spec: TunerSpec, *, recompute_seconds: int = 3600,
           recommender_settings: dict[str, Any] | None = None, oom_feedback: bool = False,
           progress: ProgressCallback | None = None) -> Replay:
    """Replay ``trace`` with ``spec`` (its recommender and guardrails) and return the applied requests.

    Memory samples above the limit are counted as OOM exposures. With ``oom_feedback`` they are also
    reported to the tuning as kills (as the operator would see them), which triggers the OOM bump.
    Off by default: 5-minute averages say a kill was likely, not that it happened.
    """
    if recompute_seconds <= 0:
        raise ValueError("recompute period must be positive")
    rows = len(trace.entities)
    start, period = period_index(trace, recompute_seconds)
    periods = int(period.max()) + 1
    order = np.argsort(period, kind="stable")
    cuts = np.searchsorted(period[order], np.arange(periods + 1))
    tuning = VerticalTuning(rows, spec, recommender_settings or {})
    cpu_req = np.zeros((periods, rows), dtype=np.int64)
    mem_req = np.zeros((periods, rows), dtype=np.int64)
    limit_equals_request = spec.limits.memory is LimitPolicy.EQUAL_TO_REQUEST
    ratio = spec.limits.memory_limit_ratio if spec.limits.memory is LimitPolicy.PROPORTIONAL else None
    kills = 0
    for k in range(periods):
        now = start + k * recompute_seconds
        decision = tuning.decide(now)
        tuning.apply(decision)
        cpu_req[k] = decision.cpu.decided
        mem_req[k] = decision.memory.decided
        idx = order[cuts[k]:cuts[k + 1]]
        if len(idx):
            samples = UsageSamples(rows=trace.rows[idx], timestamps=trace.timestamps[idx],
                                   cpu_cores=trace.cpu_cores[idx], memory_bytes=trace.memory_bytes[idx])
            tuning.observe(samples)
            if limit_equals_request or ratio is not None:
                limit = mem_req[k][samples.rows] * (ratio or 1.0)
                killed = samples.memory_bytes > limit
                kills += int(killed.sum())
                if oom_feedback and killed.any():
                    tuning.record_oom(samples.rows[killed], samples.timestamps[killed],
                                      np.maximum(limit[killed], samples.memory_bytes[killed]))
        if progress is not None:
            progress(k + 1, periods)
    limits: IntArray | None
    if limit_equals_request:
        limits = mem_req
    elif ratio is not None:
        limits = np.ceil(mem_req * ratio).astype(np.int64)
    else:
        limits = None
    return Replay(recommender=spec.recommender, period_starts=start + np.arange(periods) * recompute_seconds,
                  cpu_request_millicores=cpu_req, memory_request_bytes=mem_req, memory_limit_bytes=limits,
                  sample_period=period, oom_kills=kills)
