"""Columnar usage samples and the resources they measure (pure data)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Resource(enum.StrEnum):
    """A container resource rikugame sizes."""

    CPU = "cpu"
    MEMORY = "memory"


@dataclass(frozen=True)
class UsageSamples:
    """Usage samples of many rows (containers), sorted by row, then timestamp.

    ``cpu_cores`` and ``memory_bytes`` may hold NaN where that resource was not measured.
    """

    rows: IntArray
    timestamps: IntArray
    cpu_cores: FloatArray
    memory_bytes: FloatArray

    def __len__(self) -> int:
        return len(self.rows)

    def values(self, resource: Resource) -> FloatArray:
        """The value column of one resource."""
        return self.cpu_cores if resource is Resource.CPU else self.memory_bytes

    def measured(self, resource: Resource) -> tuple[IntArray, IntArray, FloatArray]:
        """(rows, timestamps, values) of the samples where ``resource`` is not NaN."""
        values = self.values(resource)
        ok = ~np.isnan(values)
        if ok.all():
            return self.rows, self.timestamps, values
        return self.rows[ok], self.timestamps[ok], values[ok]

    @staticmethod
    def of(rows: object, timestamps: object, cpu_cores: object, memory_bytes: object) -> UsageSamples:
        """Build from any array-likes, converting dtypes."""
        return UsageSamples(
            rows=np.asarray(rows, dtype=np.int64),
            timestamps=np.asarray(timestamps, dtype=np.int64),
            cpu_cores=np.asarray(cpu_cores, dtype=np.float64),
            memory_bytes=np.asarray(memory_bytes, dtype=np.float64),
        )

    @staticmethod
    def empty() -> UsageSamples:
        """No samples."""
        return UsageSamples.of([], [], [], [])


@dataclass(frozen=True)
class WindowSummary:
    """Per-row usage statistics over one window, computed elsewhere (e.g. server-side by Prometheus).

    A recommender whose estimate depends only on such statistics (``krr-simple``: a CPU percentile and
    the memory maximum over a hard window) can take them instead of every sample and give the exact
    value rather than a histogram read-out. NaN = not measured; ``first``/``last`` are -1 without samples.
    """

    cpu_percentile: float
    """The percentile (0–1) that ``cpu_percentile_cores`` holds."""
    cpu_percentile_cores: FloatArray
    memory_max_bytes: FloatArray
    sample_count: IntArray
    first: IntArray
    last: IntArray
