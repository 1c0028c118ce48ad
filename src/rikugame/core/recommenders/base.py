"""The recommender interface, the estimates it returns, and the name registry (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rikugame.core.histograms import FloatArray, IntArray
from rikugame.core.registry import Registry
from rikugame.core.samples import UsageSamples

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Estimates:
    """Per-row recommended sizes. Rows where ``sufficient`` is False carry no usable estimate."""

    cpu_cores: FloatArray
    memory_bytes: FloatArray
    sufficient: BoolArray
    history_seconds: FloatArray
    cpu_explanation: str
    memory_explanation: str
    cpu_lower_cores: FloatArray | None = None
    memory_lower_bytes: FloatArray | None = None
    cpu_upper_cores: FloatArray | None = None
    memory_upper_bytes: FloatArray | None = None


@runtime_checkable
class Recommender(Protocol):
    """What every recommender offers."""

    name: str
    rows: int

    def observe(self, samples: UsageSamples) -> None:
        """Ingest usage samples (sorted by row, then time)."""

    def record_oom(self, rows: IntArray, timestamps: IntArray, memory_bytes: FloatArray) -> None:
        """Ingest OOM kills: ``memory_bytes`` is the limit (or usage) at which each row was killed."""

    def estimate(self, now: int) -> Estimates:
        """Targets for every row from the history seen so far."""


@dataclass
class Coverage:
    """How much history each row has: first/last sample time and sample count."""

    rows: int
    first: IntArray = field(init=False)
    last: IntArray = field(init=False)
    count: IntArray = field(init=False)

    def __post_init__(self) -> None:
        self.first = np.full(self.rows, -1, dtype=np.int64)
        self.last = np.full(self.rows, -1, dtype=np.int64)
        self.count = np.zeros(self.rows, dtype=np.int64)

    def observe(self, samples: UsageSamples) -> None:
        """Record the span and count of the samples."""
        if len(samples) == 0:
            return
        r = samples.rows
        fresh = self.first[r] < 0
        if fresh.any():
            uniq, idx = np.unique(r[fresh], return_index=True)
            self.first[uniq] = samples.timestamps[fresh][idx]
        np.maximum.at(self.last, r, samples.timestamps)
        self.count += np.bincount(r, minlength=self.rows)

    def span_seconds(self) -> FloatArray:
        """Seconds between the first and the last sample (0 without samples)."""
        span: FloatArray = np.where(self.first >= 0, self.last - self.first, 0).astype(np.float64)
        return span

    def sufficient(self, min_history_seconds: float) -> BoolArray:
        """Rows with at least one sample spanning ``min_history_seconds`` or more."""
        enough: BoolArray = (self.count > 0) & (self.span_seconds() >= min_history_seconds)
        return enough


RecommenderFactory = Callable[..., Recommender]
REGISTRY: Registry[RecommenderFactory] = Registry("recommender")
register = REGISTRY.register
names = REGISTRY.names


def create(name: str, rows: int, **settings: Any) -> Recommender:
    """A new recommender ``name`` for ``rows`` containers; KeyError lists the valid names."""
    return REGISTRY.get(name)(rows=rows, **settings)
