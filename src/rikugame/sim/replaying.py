"""Replaying a usage trace through the decision core, period by period (never seeing the future).

Every ``recompute_seconds`` the tuning decides on the history seen so far; the decision is the request
(and, memory limit = request, the limit) for the next period. Samples of that period are then observed;
a memory sample above the limit is an OOM kill. With OOM feedback the kill is reported to the tuning at
its sample's time and the killed containers are decided and resized right then, as the operator's OOM
handler does (it reacts to the kill, not to the next hourly cycle): the rest of the period runs on the new
request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core.histograms import IntArray
from rikugame.core.policy import LimitPolicy, TunerSpec
from rikugame.core.samples import UsageSamples
from rikugame.core.tuning import VerticalTuning
from rikugame.usage_trace import Trace

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class CheckpointSizes:
    """Sizes of the JSON checkpoints a replay with restarts wrote, per container (bytes)."""

    restarts: int
    mean_bytes_per_container: float
    max_bytes_per_container: int
    last_mean_bytes_per_container: float
    """Mean over the containers at the last restart (the longest history)."""

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready figures."""
        return {"restarts": self.restarts, "meanBytesPerContainer": round(self.mean_bytes_per_container, 1),
                "maxBytesPerContainer": self.max_bytes_per_container,
                "lastMeanBytesPerContainer": round(self.last_mean_bytes_per_container, 1)}


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
    checkpoints: CheckpointSizes | None = None
    """Checkpoint sizes when the replay restarted from checkpoints."""
    kill_decisions: KillDecisions | None = None
    """Resizes decided at OOM kills inside a period (only with OOM feedback)."""

    def sample_requests(self, rows: IntArray) -> tuple[IntArray, IntArray, IntArray | None]:
        """CPU request (millicores), memory request and memory limit (bytes) in force at every trace sample
        (``rows``: the trace's row of each sample): the period's decision, or a resize decided at a kill
        earlier in the same period."""
        p = self.sample_period
        cpu = self.cpu_request_millicores[p, rows]
        mem = self.memory_request_bytes[p, rows]
        lim = self.memory_limit_bytes[p, rows] if self.memory_limit_bytes is not None else None
        kd = self.kill_decisions
        if kd is not None and len(kd.sample_index):
            cpu[kd.sample_index] = kd.sample_cpu_millicores
            mem[kd.sample_index] = kd.sample_memory_bytes
            if lim is not None:
                lim[kd.sample_index] = kd.sample_memory_limit_bytes
        return cpu, mem, lim


@dataclass(frozen=True)
class KillDecisions:
    """Resizes made at OOM kills, and the samples that ran under them (the rest of their period)."""

    rows: IntArray
    timestamps: IntArray
    cpu_millicores: IntArray
    memory_bytes: IntArray
    memory_limit_bytes: IntArray
    sample_index: IntArray
    """Trace samples whose request differs from their period's decision …"""
    sample_cpu_millicores: IntArray
    sample_memory_bytes: IntArray
    sample_memory_limit_bytes: IntArray
    """… and what was in force at each of them."""


def period_index(trace: Trace, recompute_seconds: int) -> tuple[int, IntArray]:
    """The start of period 0 and every sample's period index."""
    start = int(trace.timestamps.min() // recompute_seconds * recompute_seconds)
    return start, ((trace.timestamps - start) // recompute_seconds).astype(np.int64)


def restarted(tuning: VerticalTuning, spec: TunerSpec, settings: dict[str, Any]) -> tuple[VerticalTuning, list[int]]:
    """The tuning rebuilt from its checkpoint as JSON bytes (what an operator restart does), and the
    size in bytes of each container's part of it."""
    data = tuning.to_checkpoint()
    sizes = [len(json.dumps(row, separators=(",", ":"))) for row in data["rows"]]
    raw = json.dumps(data, separators=(",", ":")).encode()
    return VerticalTuning.from_checkpoint(spec, json.loads(raw), settings), sizes


def replay(trace: Trace, spec: TunerSpec, *, recompute_seconds: int = 3600,
           recommender_settings: dict[str, Any] | None = None, oom_feedback: bool = False,
           restart_every_seconds: int | None = None, progress: ProgressCallback | None = None,
           initial_requests: tuple[IntArray, IntArray] | None = None) -> Replay:
    """Replay ``trace`` with ``spec`` (its recommender and guardrails) and return the applied requests.

    Memory samples above the limit are counted as OOM exposures. With ``oom_feedback`` they are also
    reported to the tuning as kills at their time (as the operator would see them), and the killed rows are
    decided and applied at once (the OOM bump), so later samples of the period meet the new limit.
    Off by default: 5-minute averages say a kill was likely, not that it happened. With
    ``restart_every_seconds`` the tuning is saved to JSON and rebuilt from it at every multiple of that
    duration (Unix time), as an operator restart would; the result must not change. ``initial_requests``:
    (CPU millicores, memory bytes) per entity the containers request before the first decision (default:
    none, so the first decision is not step-limited), as an operator finds a running workload.
    """
    if recompute_seconds <= 0:
        raise ValueError("recompute period must be positive")
    if restart_every_seconds is not None and restart_every_seconds <= 0:
        raise ValueError("restart period must be positive")
    rows = len(trace.entities)
    settings = dict(recommender_settings or {})
    start, period = period_index(trace, recompute_seconds)
    periods = int(period.max()) + 1
    order = np.argsort(period, kind="stable")
    cuts = np.searchsorted(period[order], np.arange(periods + 1))
    tuning = VerticalTuning(rows, spec, settings)
    if initial_requests is not None:
        tuning.set_current(*initial_requests)
    cpu_req = np.zeros((periods, rows), dtype=np.int64)
    mem_req = np.zeros((periods, rows), dtype=np.int64)
    mem_lim = np.zeros((periods, rows), dtype=np.int64)
    limited = spec.limits.memory is not LimitPolicy.REMOVE
    kills = 0
    kill_log = _KillLog()
    sizes: list[int] = []
    last_sizes: list[int] = []
    restarts = 0
    for k in range(periods):
        now = start + k * recompute_seconds
        if restart_every_seconds is not None and k > 0 and \
                now // restart_every_seconds > (now - recompute_seconds) // restart_every_seconds:
            tuning, last_sizes = restarted(tuning, spec, settings)
            sizes.extend(last_sizes)
            restarts += 1
        tuning.advance(now)
        decision = tuning.decide(now)
        tuning.apply(decision)
        cpu_req[k] = decision.cpu.decided
        mem_req[k] = decision.memory.decided
        mem_lim[k] = decision.memory.limit
        idx = order[cuts[k]:cuts[k + 1]]
        if len(idx) and oom_feedback and limited:
            kills += _react_at_kills(tuning, trace, idx, k, cpu_req, mem_req, mem_lim, kill_log)
        elif len(idx):
            samples = UsageSamples(rows=trace.rows[idx], timestamps=trace.timestamps[idx],
                                   cpu_cores=trace.cpu_cores[idx], memory_bytes=trace.memory_bytes[idx])
            tuning.observe(samples)
            if limited:
                limit = mem_lim[k][samples.rows]
                killed = (limit >= 0) & (samples.memory_bytes > limit)
                kills += int(killed.sum())
                if oom_feedback and killed.any():
                    tuning.record_oom(samples.rows[killed], samples.timestamps[killed],
                                      np.maximum(limit[killed], samples.memory_bytes[killed]))
        if progress is not None:
            progress(k + 1, periods)
    limits: IntArray | None = mem_lim if limited and (mem_lim >= 0).any() else None
    checkpoint_sizes = None
    if restart_every_seconds is not None:
        checkpoint_sizes = CheckpointSizes(restarts, float(np.mean(sizes)) if sizes else 0.0,
                                           max(sizes, default=0),
                                           float(np.mean(last_sizes)) if last_sizes else 0.0)
    return Replay(recommender=spec.recommender, period_starts=start + np.arange(periods) * recompute_seconds,
                  cpu_request_millicores=cpu_req, memory_request_bytes=mem_req, memory_limit_bytes=limits,
                  sample_period=period, oom_kills=kills, checkpoints=checkpoint_sizes,
                  kill_decisions=kill_log.frozen() if oom_feedback and limited else None)


@dataclass
class _KillLog:
    """What :func:`_react_at_kills` decided, collected over the periods."""

    decisions: list[tuple[IntArray, int, IntArray, IntArray, IntArray]] = field(default_factory=list)
    samples: list[tuple[IntArray, IntArray, IntArray, IntArray]] = field(default_factory=list)

    def frozen(self) -> KillDecisions:
        def cat(parts: list[IntArray]) -> IntArray:
            out: IntArray = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
            return out

        d, s = self.decisions, self.samples
        return KillDecisions(
            rows=cat([x[0] for x in d]), timestamps=cat([np.full(len(x[0]), x[1]) for x in d]),
            cpu_millicores=cat([x[2] for x in d]), memory_bytes=cat([x[3] for x in d]),
            memory_limit_bytes=cat([x[4] for x in d]), sample_index=cat([x[0] for x in s]),
            sample_cpu_millicores=cat([x[1] for x in s]), sample_memory_bytes=cat([x[2] for x in s]),
            sample_memory_limit_bytes=cat([x[3] for x in s]))


def _react_at_kills(tuning: VerticalTuning, trace: Trace, idx: IntArray, k: int, cpu_req: IntArray,
                    mem_req: IntArray, mem_lim: IntArray, log: _KillLog) -> int:
    """Observe period ``k``'s samples (``idx``) in time order; at every kill, report it, decide at its time
    and apply to the killed rows, so the period's later samples meet the new request. Returns the kills."""
    idx = idx[np.argsort(trace.timestamps[idx], kind="stable")]
    ts = trace.timestamps[idx]
    cpu_now, mem_now, lim_now = cpu_req[k].copy(), mem_req[k].copy(), mem_lim[k].copy()
    kills = 0
    pos = 0
    while pos < len(idx):
        rest = idx[pos:]
        rows = trace.rows[rest]
        limit = lim_now[rows]
        killed = (limit >= 0) & (trace.memory_bytes[rest] > limit)
        upto = len(rest)
        if killed.any():
            t0 = int(ts[pos + int(np.argmax(killed))])
            upto = int(np.searchsorted(ts[pos:], t0, side="right"))
        batch = rest[:upto]
        resized = (cpu_now[rows[:upto]] != cpu_req[k, rows[:upto]]) | (lim_now[rows[:upto]] != mem_lim[k, rows[:upto]])
        resized |= mem_now[rows[:upto]] != mem_req[k, rows[:upto]]
        if resized.any():
            r = rows[:upto][resized]
            log.samples.append((batch[resized], cpu_now[r], mem_now[r], lim_now[r]))
        tuning.observe(UsageSamples(rows=rows[:upto], timestamps=trace.timestamps[batch],
                                    cpu_cores=trace.cpu_cores[batch], memory_bytes=trace.memory_bytes[batch]))
        hit = killed[:upto]
        if hit.any():
            kills += int(hit.sum())
            tuning.record_oom(rows[:upto][hit], trace.timestamps[batch][hit],
                              np.maximum(limit[:upto][hit], trace.memory_bytes[batch][hit]))
            victims = np.unique(rows[:upto][hit])
            decision = tuning.decide(t0)
            tuning.apply(decision, victims)
            cpu_now[victims] = decision.cpu.decided[victims]
            mem_now[victims] = decision.memory.decided[victims]
            lim_now[victims] = decision.memory.limit[victims]
            log.decisions.append((victims, t0, cpu_now[victims].copy(), mem_now[victims].copy(),
                                  lim_now[victims].copy()))
        pos += upto
    return kills
