"""``vpa``: the Kubernetes VPA recommender with its default settings (pure).

Restated from kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender/logic/recommender.go and
estimator.go (see ../shared/reference/peers-and-anchors.md §1.1):

* CPU target = P90 of all usage samples (24 h half-life decaying histogram) × 1.15.
* Memory target = P90 of per-24 h peaks (24 h half-life) × 1.15; an OOM adds a peak of
  max(base × 1.2, base + 100 MiB).
* Upper bound = P95 × 1.15 × (1 + 1/c), c = min(history days, samples / 1440): ×2 after one day;
  lower bound = P50 × 1.15 × (1 + 0.001/c)^-2: ×0.95 after an hour of history (estimator.go,
  WithConfidenceMultiplier; the multipliers are tabulated in recommender.go's comments).
* Pod minimums 25 mCPU and 250 MiB (one container per pod here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core import checkpoints
from rikugame.core.histograms import CPU_LAYOUT, MEMORY_LAYOUT, FloatArray, IntArray
from rikugame.core.recommenders.base import Coverage, Estimates, register
from rikugame.core.samples import Resource, UsageSamples
from rikugame.core.signals import PeakHistogram, SampleHistogram

MIB = 2**20
DAY = 86400


def confidence(span_seconds: FloatArray, samples: FloatArray, samples_per_day: float) -> FloatArray:
    """VPA's confidence in days of history: min(span in days, samples / samples-per-day)."""
    c: FloatArray = np.minimum(span_seconds / DAY, samples / samples_per_day)
    return c


def oom_bumped(base_bytes: FloatArray, ratio: float = 0.2, min_bytes: float = 100 * MIB) -> FloatArray:
    """Memory after an OOM: max(base × (1 + ratio), base + min_bytes) (VPA and Tortoise default)."""
    bumped: FloatArray = np.maximum(base_bytes * (1 + ratio), base_bytes + min_bytes)
    return bumped


@register("vpa")
@dataclass
class VPARecommender:
    """VPA defaults: P90 CPU samples, P90 daily memory peaks, +15%, 24 h half-lives, 25m / 250Mi minimums."""

    rows: int
    cpu_percentile: float = 0.90
    memory_percentile: float = 0.90
    margin_fraction: float = 0.15
    cpu_half_life_seconds: float = 86400.0
    memory_half_life_seconds: float = 86400.0
    memory_interval_seconds: int = 86400
    min_cpu_cores: float = 0.025
    min_memory_bytes: float = 250.0 * MIB
    late_samples_seconds: int = 16 * DAY
    """How far behind the newest sample of a container a sample may arrive and still count (any order)."""
    samples_per_day: float = 1440.0
    min_history_seconds: float = 0.0
    name: str = "vpa"
    cpu: SampleHistogram = field(init=False)
    memory: PeakHistogram = field(init=False)
    coverage: Coverage = field(init=False)

    def __post_init__(self) -> None:
        self.cpu = SampleHistogram(CPU_LAYOUT, self.rows, self.cpu_half_life_seconds)
        self.memory = PeakHistogram(MEMORY_LAYOUT, self.rows, self.memory_half_life_seconds,
                                    self.memory_interval_seconds, self.late_samples_seconds)
        self.coverage = Coverage(self.rows)

    def observe(self, samples: UsageSamples) -> None:
        """Ingest usage samples."""
        self.coverage.observe(samples)
        self.cpu.observe(*samples.measured(Resource.CPU))
        self.memory.observe(*samples.measured(Resource.MEMORY))

    def record_oom(self, rows: IntArray, timestamps: IntArray, memory_bytes: FloatArray) -> None:
        """An OOM adds a bumped synthetic memory peak."""
        self.memory.add_synthetic_peak(rows, timestamps, oom_bumped(memory_bytes))

    def advance(self, now: int) -> None:
        """Nothing evolves with time alone (decay is relative to the histogram's reference)."""

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state: coverage, CPU histogram, memory peaks."""
        return {"coverage": self.coverage.row_state(row), "cpu": self.cpu.row_state(row),
                "memory": self.memory.row_state(row)}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        self.coverage.load_row_state(row, checkpoints.field(state, "coverage"))
        self.cpu.load_row_state(row, checkpoints.field(state, "cpu"))
        self.memory.load_row_state(row, checkpoints.field(state, "memory"))

    def estimate(self, now: int) -> Estimates:
        """Targets and the confidence-scaled lower and upper bounds per row."""
        margin = 1 + self.margin_fraction
        cpu = np.maximum(self.cpu.percentile(self.cpu_percentile) * margin, self.min_cpu_cores)
        mem = np.maximum(self.memory.percentile(self.memory_percentile) * margin, self.min_memory_bytes)
        span = self.coverage.span_seconds()
        c = confidence(span, self.coverage.count.astype(np.float64), self.samples_per_day)
        upper_factor = 1 + 1 / np.maximum(c, 1e-12)
        cpu_upper = np.where(c > 0, self.cpu.percentile(0.95) * margin * upper_factor, np.inf)
        mem_upper = np.where(c > 0, self.memory.percentile(0.95) * margin * upper_factor, np.inf)
        lower_factor = np.where(c > 0, (1 + 0.001 / np.maximum(c, 1e-12)) ** -2.0, 0.0)
        cpu_lower = np.maximum(self.cpu.percentile(0.5) * margin * lower_factor, self.min_cpu_cores)
        mem_lower = np.maximum(self.memory.percentile(0.5) * margin * lower_factor, self.min_memory_bytes)
        return Estimates(
            cpu_cores=cpu,
            memory_bytes=mem,
            sufficient=self.coverage.sufficient(self.min_history_seconds),
            history_seconds=span,
            cpu_explanation=f"P{self.cpu_percentile * 100:g} of CPU samples (24h half-life) "
                            f"+{self.margin_fraction:.0%}",
            memory_explanation=f"P{self.memory_percentile * 100:g} of daily memory peaks (24h half-life) "
                               f"+{self.margin_fraction:.0%}",
            cpu_lower_cores=cpu_lower,
            memory_lower_bytes=mem_lower,
            cpu_upper_cores=cpu_upper,
            memory_upper_bytes=mem_upper,
        )


@register("tortoise")
@dataclass
class TortoiseRecommender(VPARecommender):
    """Mercari Tortoise's vertical sizing: the VPA target × (1 + BufferRatioOnVerticalResource 0.1).

    Tortoise's own guardrails (≤ 20 % down once an hour, 50m–10 cores, 50Mi–10Gi) are the default
    TunerSpec guardrails (mercari/tortoise pkg/config/config.go).
    """

    buffer_ratio: float = 0.1
    name: str = "tortoise"

    def estimate(self, now: int) -> Estimates:
        """VPA targets with Tortoise's buffer."""
        base = super().estimate(now)
        factor = 1 + self.buffer_ratio
        return Estimates(
            cpu_cores=base.cpu_cores * factor,
            memory_bytes=base.memory_bytes * factor,
            sufficient=base.sufficient,
            history_seconds=base.history_seconds,
            cpu_explanation=base.cpu_explanation + f", +{self.buffer_ratio:.0%} Tortoise buffer",
            memory_explanation=base.memory_explanation + f", +{self.buffer_ratio:.0%} Tortoise buffer",
        )
