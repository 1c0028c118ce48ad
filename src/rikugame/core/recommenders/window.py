"""``window``: Google Autopilot's moving-window recommender (pure).

Restated from Rzadca et al., "Autopilot: workload autoscaling at Google", EuroSys 2020, §3.2.1:
samples go into exponentially decaying histograms; percentiles are *load-adjusted* (each sample weighs
in proportion to its value, so the estimate tracks where the load is, not where the time is); CPU uses a
12 h half-life and its P95, memory a 48 h half-life and its P98; a safety margin is added; the output is
the maximum of the recommendations made over the last hour, so a drop takes effect only after an hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core import checkpoints
from rikugame.core.histograms import CPU_LAYOUT, MEMORY_LAYOUT, FloatArray, IntArray
from rikugame.core.recommenders.base import Coverage, Estimates, register
from rikugame.core.samples import Resource, UsageSamples
from rikugame.core.signals import SampleHistogram

MIB = 2**20


@register("window")
@dataclass
class MovingWindowRecommender:
    """Autopilot moving window: load-adjusted P95 CPU (12 h) and P98 memory (48 h), +10 %, 1 h max."""

    rows: int
    cpu_percentile: float = 0.95
    memory_percentile: float = 0.98
    cpu_half_life_seconds: float = 12 * 3600.0
    memory_half_life_seconds: float = 48 * 3600.0
    margin_fraction: float = 0.10
    hold_seconds: int = 3600
    min_cpu_cores: float = 0.010
    min_memory_bytes: float = 50.0 * MIB
    min_history_seconds: float = 0.0
    name: str = "window"
    cpu: SampleHistogram = field(init=False)
    memory: SampleHistogram = field(init=False)
    coverage: Coverage = field(init=False)

    def __post_init__(self) -> None:
        self.cpu = SampleHistogram(CPU_LAYOUT, self.rows, self.cpu_half_life_seconds, load_adjusted=True)
        self.memory = SampleHistogram(MEMORY_LAYOUT, self.rows, self.memory_half_life_seconds,
                                      load_adjusted=True)
        self.coverage = Coverage(self.rows)
        self._recent: list[tuple[int, FloatArray, FloatArray]] = []

    def observe(self, samples: UsageSamples) -> None:
        """Ingest usage samples."""
        self.coverage.observe(samples)
        self.cpu.observe(*samples.measured(Resource.CPU))
        self.memory.observe(*samples.measured(Resource.MEMORY))

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state: coverage, histograms, the held recommendations (time, CPU, memory)."""
        held = [[t, float(c[row]), float(m[row])] for t, c, m in self._recent]
        return {"coverage": self.coverage.row_state(row), "cpu": self.cpu.row_state(row),
                "memory": self.memory.row_state(row), "held": held}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output (the held times are shared by all rows)."""
        self.coverage.load_row_state(row, checkpoints.field(state, "coverage"))
        self.cpu.load_row_state(row, checkpoints.field(state, "cpu"))
        self.memory.load_row_state(row, checkpoints.field(state, "memory"))
        held = checkpoints.field(state, "held")
        times = [int(t) for t, _, _ in held]
        if [t for t, _, _ in self._recent] != times:
            self._recent = [(t, np.zeros(self.rows), np.zeros(self.rows)) for t in times]
        for (_, c, m), (_, cpu, mem) in zip(self._recent, held, strict=True):
            c[row], m[row] = float(cpu), float(mem)

    def record_oom(self, rows: IntArray, timestamps: IntArray, memory_bytes: FloatArray) -> None:
        """An OOM enters as a sample at the killing size (the guardrails add the bump)."""
        self.memory.observe(rows, timestamps, memory_bytes)

    def _raw(self) -> tuple[FloatArray, FloatArray]:
        margin = 1 + self.margin_fraction
        cpu = np.maximum(self.cpu.percentile(self.cpu_percentile) * margin, self.min_cpu_cores)
        mem = np.maximum(self.memory.percentile(self.memory_percentile) * margin, self.min_memory_bytes)
        return cpu, mem

    def advance(self, now: int) -> None:
        """Record this decision time's raw recommendation for the one-hour hold."""
        cpu, mem = self._raw()
        self._recent = [(t, c, m) for t, c, m in self._recent if now - t <= self.hold_seconds and t <= now]
        self._recent.append((now, cpu, mem))

    def estimate(self, now: int) -> Estimates:
        """Targets per row: the max of the raw recommendation now and those of the last hour's advances."""
        cpu, mem = self._raw()
        held = [(c, m) for t, c, m in self._recent if now - t <= self.hold_seconds and t <= now]
        cpu_held = np.max([cpu, *[c for c, _ in held]], axis=0)
        mem_held = np.max([mem, *[m for _, m in held]], axis=0)
        span = self.coverage.span_seconds()
        return Estimates(
            cpu_cores=cpu_held,
            memory_bytes=mem_held,
            sufficient=self.coverage.sufficient(self.min_history_seconds),
            history_seconds=span,
            cpu_explanation=f"load-adjusted P{self.cpu_percentile * 100:g} of CPU (12h half-life) "
                            f"+{self.margin_fraction:.0%}, max over 1h",
            memory_explanation=f"load-adjusted P{self.memory_percentile * 100:g} of memory (48h half-life) "
                               f"+{self.margin_fraction:.0%}, max over 1h",
        )
