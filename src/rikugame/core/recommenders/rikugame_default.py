"""``rikugame``: our default recommender (pure).

CPU — a per-container arg-min ensemble (``ensemble``; Autopilot's ML recommender idea): 64 candidate
models (P90/P95/P98/P99 of 6 h, 12 h, 24 h and 72 h half-life histograms, × 1.0/1.15/1.3/2.0) are charged for
the contention (share of samples above them, × ``cpu_overrun_weight``), the deficit (usage above them,
× ``cpu_deficit_weight``) and the slack (unused capacity), the last two relative to usage. Every
container starts on VPA's model (P90 of 24 h × 1.15) and moves to another only when it is at least
``switch_margin`` cheaper for its own usage (hysteresis against churn; the guardrails rate-limit
decreases). The deficit term (a pinball loss, see ``ensemble``) is what
lets one setting serve both shared traces: counting samples above alone made the Azure VMs too
cautious at a weight that kept Bitbrains' contention low, and too bold on Bitbrains at one that suited
Azure (README, "Results on the shared traces").

Memory — a peak that follows the time of day, plus a byte headroom. The base is

    min(max(time-of-day max, max over the last ``memory_recent_seconds``), max over ``memory_window_seconds``)

where the time-of-day max is the largest hourly maximum within ±``memory_time_of_day_half_width_seconds``
of the current time of day on each of the last ``memory_time_of_day_days`` days (and earlier today).
Reasons, each a kind of workload the trace shows: spikes that recur at the same hour (batch jobs,
backups, reports) are kept for two weeks even when the last week was quiet at other hours; the last day's
peak is a floor, because a workload that grew yesterday has not shown its new level at every hour yet; the
week's peak is a ceiling, so a one-off spike is forgotten after seven days as before. The request is that
base + max(``memory_headroom_fraction`` × base, min(``memory_headroom_cap_bytes``, base)): a fixed byte
headroom rather than a percentage, because the spikes that cause OOM kills are additive (a job loads its
data) rather than proportional to the container's size — small containers get room that costs little in
absolute terms and big ones are not padded by a large percentage. ``memory_headroom_cap_bytes`` is the
documented risk knob (its curve: docs/memory.md): smaller is cheaper with more OOM-exposed days. The
time-of-day rule follows issue 13's measurement on the shared Bitbrains trace; the constants screened on
that trace are listed in docs/memory.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core import checkpoints
from rikugame.core.histograms import CPU_LAYOUT, FloatArray, IntArray
from rikugame.core.recommenders.base import Coverage, Estimates, register
from rikugame.core.recommenders.ensemble import ArgMinEnsemble, Candidate
from rikugame.core.samples import Resource, UsageSamples
from rikugame.core.signals import SampleHistogram, WindowedMax

MIB = 2**20
HOUR = 3600
DAY = 86400


def memory_headroom(peak: FloatArray, fraction: float, cap_bytes: float) -> FloatArray:
    """max(fraction × peak, min(cap, peak)): bytes added on top of the peak."""
    headroom: FloatArray = np.maximum(peak * fraction, np.minimum(cap_bytes, peak))
    return headroom


@dataclass
class PercentileReadout:
    """Percentiles of one signal, each computed once per read-out time (candidates share them)."""

    signal: SampleHistogram
    cache: dict[float, tuple[int, FloatArray]] = field(default_factory=dict)

    def percentile(self, q: float, now: int) -> FloatArray:
        """Percentile ``q`` of the signal, reused while ``now`` is the same and nothing was observed."""
        hit = self.cache.get(q)
        if hit is not None and hit[0] == now:
            return hit[1]
        value = self.signal.percentile(q)
        self.cache[q] = (now, value)
        return value

    def clear(self) -> None:
        """Forget cached read-outs (new samples arrived)."""
        self.cache.clear()


def percentile_candidate(readout: PercentileReadout, q: float, margin: float) -> Candidate:
    """A candidate model: percentile ``q`` of the readout's signal × ``margin``."""

    def read(now: int) -> FloatArray:
        value: FloatArray = readout.percentile(q, now) * margin
        return value

    half_life_hours = int((readout.signal.half_life_seconds or 0) // HOUR)
    return Candidate(f"P{q * 100:g} of CPU ({half_life_hours}h half-life) x{margin:g}", read)


@register("rikugame")
@dataclass
class RikugameRecommender:
    """Arg-min ensemble for CPU, windowed peak + byte headroom for memory."""

    rows: int
    cpu_overrun_weight: float = 9.0
    cpu_deficit_weight: float = 14.0
    cpu_half_lives_seconds: tuple[float, ...] = (6 * HOUR, 12 * HOUR, 24 * HOUR, 72 * HOUR)
    cpu_margins: tuple[float, ...] = (1.0, 1.15, 1.3, 2.0)
    cpu_start_like_vpa: bool = True
    cost_half_life_seconds: float = 7 * DAY
    switch_margin: float = 0.3
    memory_window_seconds: int = 7 * DAY
    memory_recent_seconds: int = DAY
    memory_time_of_day_days: int = 14
    memory_time_of_day_half_width_seconds: int = 2 * HOUR
    memory_headroom_fraction: float = 0.0
    memory_headroom_cap_bytes: float = 1024.0 * MIB
    min_cpu_cores: float = 0.005
    min_memory_bytes: float = 32.0 * MIB
    min_history_seconds: float = 0.0
    name: str = "rikugame"
    coverage: Coverage = field(init=False)

    def __post_init__(self) -> None:
        self.coverage = Coverage(self.rows)
        self.cpu_signals = [SampleHistogram(CPU_LAYOUT, self.rows, hl) for hl in self.cpu_half_lives_seconds]
        grid = [(s, q, m) for s in self.cpu_signals for q in (0.9, 0.95, 0.98, 0.99)
                for m in self.cpu_margins]
        self.cpu_readouts = {id(s): PercentileReadout(s) for s in self.cpu_signals}
        candidates = [percentile_candidate(self.cpu_readouts[id(s)], q, m) for s, q, m in grid]
        default = next((i for i, (s, q, m) in enumerate(grid)
                        if s.half_life_seconds == 24 * HOUR and q == 0.9 and m == 1.15), -1)
        self.cpu = ArgMinEnsemble(self.rows, candidates, self.cpu_overrun_weight,
                                  self.cost_half_life_seconds, self.switch_margin,
                                  default_choice=default if self.cpu_start_like_vpa else -1,
                                  deficit_weight=self.cpu_deficit_weight)
        reach = max(self.memory_window_seconds, self.memory_recent_seconds,
                    self.memory_time_of_day_days * DAY + self.memory_time_of_day_half_width_seconds)
        self.memory_peak = WindowedMax(self.rows, reach, HOUR)

    def observe(self, samples: UsageSamples) -> None:
        """Score the CPU candidates on the new samples, then ingest them."""
        self.coverage.observe(samples)
        cpu = samples.measured(Resource.CPU)
        self.cpu.score(cpu[0], cpu[2])
        for signal in self.cpu_signals:
            signal.observe(*cpu)
        for readout in self.cpu_readouts.values():
            readout.clear()
        self.memory_peak.observe(*samples.measured(Resource.MEMORY))

    def record_oom(self, rows: IntArray, timestamps: IntArray, memory_bytes: FloatArray) -> None:
        """An OOM enters as a memory peak at the killing size (the guardrails add the bump)."""
        self.memory_peak.observe(rows, timestamps, memory_bytes)

    def advance(self, now: int) -> None:
        """Charge and re-choose the CPU models (the ensemble's step)."""
        self.cpu.advance(now)

    def estimate(self, now: int) -> Estimates:
        """Per-row CPU model choice and memory peak + headroom."""
        cpu, choice = self.cpu.estimate(now)
        peak = self.memory_base(now)
        memory = peak + memory_headroom(peak, self.memory_headroom_fraction, self.memory_headroom_cap_bytes)
        span = self.coverage.span_seconds()
        labels = sorted({self.cpu.candidates[i].label for i in np.unique(choice)})
        window_days = self.memory_window_seconds / DAY
        recent_hours = self.memory_recent_seconds / HOUR
        tod = (f"max at ±{self.memory_time_of_day_half_width_seconds / HOUR:g}h of the time of day over "
               f"{self.memory_time_of_day_days}d")
        return Estimates(
            cpu_cores=np.maximum(cpu, self.min_cpu_cores),
            memory_bytes=np.maximum(memory, self.min_memory_bytes),
            sufficient=self.coverage.sufficient(self.min_history_seconds),
            history_seconds=span,
            cpu_explanation="per-container arg-min of overrun + deficit + slack among " + "; ".join(labels[:3])
                            + f"{' …' if len(labels) > 3 else ''}",
            memory_explanation=f"min(max({tod}, max over {recent_hours:g}h), max over {window_days:g}d) + "
                               f"max({self.memory_headroom_fraction:.0%}, "
                               f"min({self.memory_headroom_cap_bytes / MIB:g}Mi, peak))",
        )

    def memory_base(self, now: int) -> FloatArray:
        """min(max(time-of-day max, recent max), window max) per row (module docstring)."""
        tod = self.memory_peak.time_of_day_maximum(now, self.memory_time_of_day_days,
                                                   self.memory_time_of_day_half_width_seconds)
        recent = self.memory_peak.maximum(now, self.memory_recent_seconds)
        week = self.memory_peak.maximum(now, self.memory_window_seconds)
        base: FloatArray = np.minimum(np.maximum(tod, recent), week)
        return base

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state: coverage, CPU histograms, ensemble, memory peaks."""
        return {"coverage": self.coverage.row_state(row),
                "cpu": [signal.row_state(row) for signal in self.cpu_signals],
                "ensemble": self.cpu.row_state(row), "memoryPeak": self.memory_peak.row_state(row)}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        self.coverage.load_row_state(row, checkpoints.field(state, "coverage"))
        cpu = checkpoints.field(state, "cpu")
        if len(cpu) != len(self.cpu_signals):
            raise checkpoints.CheckpointError(f"rikugame state has {len(cpu)} CPU histograms, expected "
                                              f"{len(self.cpu_signals)}")
        for signal, signal_state in zip(self.cpu_signals, cpu, strict=True):
            signal.load_row_state(row, signal_state)
        for readout in self.cpu_readouts.values():
            readout.clear()
        self.cpu.load_row_state(row, checkpoints.field(state, "ensemble"))
        self.memory_peak.load_row_state(row, checkpoints.field(state, "memoryPeak"))
