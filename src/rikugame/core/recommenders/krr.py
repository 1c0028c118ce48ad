"""``krr-simple``: Robusta KRR's ``simple`` strategy (pure).

Restated from robusta-dev/krr robusta_krr/strategies/simple.py (peers-and-anchors.md §1.4): CPU request =
P95 of usage over the last 14 days (no CPU limit); memory request = limit = max over 14 days × 1.15;
minimums 10m and 100 MiB; at least 3 h of history. A hard window (no decay); percentiles from a fine
1%-bucket histogram so they are within 1% of the exact value.

``observe_summary`` takes the same statistics already computed over the window (the report asks
Prometheus for the exact per-pod P95 and maximum, as KRR does); for the rows it covers the estimate is
then exact (the summary's CPU percentile replaces the histogram's; memory takes the larger maximum).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core import checkpoints
from rikugame.core.histograms import BucketLayout, FloatArray, IntArray
from rikugame.core.recommenders.base import Coverage, Estimates, register
from rikugame.core.samples import Resource, UsageSamples, WindowSummary
from rikugame.core.signals import WindowedHistogram, WindowedMax

MIB = 2**20
FINE_CPU_LAYOUT = BucketLayout(first_bucket=0.001, ratio=1.01, max_value=1000.0)


@register("krr-simple")
@dataclass
class KRRSimpleRecommender:
    """KRR simple: CPU P95 over 14 days, memory max × 1.15, floors 10m / 100Mi."""

    rows: int
    window_seconds: int = 14 * 86400
    cpu_percentile: float = 0.95
    memory_buffer_fraction: float = 0.15
    min_cpu_cores: float = 0.010
    min_memory_bytes: float = 100.0 * MIB
    min_history_seconds: float = 3 * 3600.0
    name: str = "krr-simple"
    cpu: WindowedHistogram = field(init=False)
    memory: WindowedMax = field(init=False)
    coverage: Coverage = field(init=False)

    def __post_init__(self) -> None:
        self.cpu = WindowedHistogram(FINE_CPU_LAYOUT, self.rows, self.window_seconds, 86400)
        self.memory = WindowedMax(self.rows, self.window_seconds, 3600)
        self.coverage = Coverage(self.rows)
        self.summary_cpu_cores = np.full(self.rows, np.nan, dtype=np.float64)
        self.summary_memory_bytes = np.zeros(self.rows, dtype=np.float64)

    def observe_summary(self, summary: WindowSummary) -> None:
        """Ingest statistics computed elsewhere over the window ending at the next ``estimate``'s ``now``."""
        if abs(summary.cpu_percentile - self.cpu_percentile) > 1e-12:
            raise ValueError(f"summary holds P{summary.cpu_percentile * 100:g}, "
                             f"krr-simple needs P{self.cpu_percentile * 100:g}")
        has_cpu = ~np.isnan(summary.cpu_percentile_cores)
        self.summary_cpu_cores[has_cpu] = np.fmax(self.summary_cpu_cores[has_cpu],
                                                  summary.cpu_percentile_cores[has_cpu])
        np.fmax(self.summary_memory_bytes, np.nan_to_num(summary.memory_max_bytes, nan=0.0),
                out=self.summary_memory_bytes)
        seen = (summary.sample_count > 0) & (summary.first >= 0)
        cov = self.coverage
        cov.first[seen] = np.where(cov.first[seen] >= 0, np.minimum(cov.first[seen], summary.first[seen]),
                                   summary.first[seen])
        cov.last[seen] = np.maximum(cov.last[seen], summary.last[seen])
        cov.count[seen] += summary.sample_count[seen]

    def observe(self, samples: UsageSamples) -> None:
        """Ingest usage samples."""
        self.coverage.observe(samples)
        self.cpu.observe(*samples.measured(Resource.CPU))
        self.memory.observe(*samples.measured(Resource.MEMORY))

    def advance(self, now: int) -> None:
        """Nothing evolves with time alone (the window is read at ``now``)."""

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state: coverage, CPU window, memory window, summary figures."""
        return {"coverage": self.coverage.row_state(row), "cpu": self.cpu.row_state(row),
                "memory": self.memory.row_state(row),
                "summary": checkpoints.encode_array([self.summary_cpu_cores[row], self.summary_memory_bytes[row]])}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        self.coverage.load_row_state(row, checkpoints.field(state, "coverage"))
        self.cpu.load_row_state(row, checkpoints.field(state, "cpu"))
        self.memory.load_row_state(row, checkpoints.field(state, "memory"))
        summary = checkpoints.decode_array(checkpoints.field(state, "summary"), np.float64)
        self.summary_cpu_cores[row], self.summary_memory_bytes[row] = summary[0], summary[1]

    def record_oom(self, rows: IntArray, timestamps: IntArray, memory_bytes: FloatArray) -> None:
        """KRR ignores OOM kills by default (``--use-oomkill-data`` is off)."""

    def estimate(self, now: int) -> Estimates:
        """Targets per row."""
        cpu_raw = self.cpu.percentile(self.cpu_percentile, now)
        summarized = ~np.isnan(self.summary_cpu_cores)
        cpu_raw = np.where(summarized, self.summary_cpu_cores, cpu_raw)
        mem_raw = np.maximum(self.memory.maximum(now), self.summary_memory_bytes)
        cpu = np.maximum(cpu_raw, self.min_cpu_cores)
        mem = np.maximum(mem_raw * (1 + self.memory_buffer_fraction), self.min_memory_bytes)
        span = self.coverage.span_seconds()
        return Estimates(
            cpu_cores=cpu,
            memory_bytes=mem,
            sufficient=self.coverage.sufficient(self.min_history_seconds),
            history_seconds=span,
            cpu_explanation=f"P{self.cpu_percentile * 100:g} of CPU over {self.window_seconds // 86400}d",
            memory_explanation=f"max memory over {self.window_seconds // 86400}d "
                               f"+{self.memory_buffer_fraction:.0%}",
        )
