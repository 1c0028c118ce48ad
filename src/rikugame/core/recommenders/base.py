"""The recommender interface, the estimates it returns, and the name registry (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rikugame.core import checkpoints
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

    def advance(self, now: int) -> None:
        """Move model state that evolves with time (e.g. a model choice) to ``now``.

        Called by the tuning on its decision cadence, never by a read: how often anyone asks for an
        estimate must not change the model. A no-op for most recommenders.
        """

    def estimate(self, now: int) -> Estimates:
        """Targets for every row from the history seen so far (pure: changes no state)."""

    def row_state(self, row: int) -> dict[str, Any]:
        """Everything the recommender holds for one row, JSON-able and exact (for checkpoints)."""

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output (rows not loaded stay empty)."""


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
        earliest = np.full(self.rows, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(earliest, r, samples.timestamps)
        seen = earliest < np.iinfo(np.int64).max
        self.first[seen] = np.where(self.first[seen] >= 0, np.minimum(self.first[seen], earliest[seen]),
                                    earliest[seen])
        np.maximum.at(self.last, r, samples.timestamps)
        self.count += np.bincount(r, minlength=self.rows)

    def span_seconds(self) -> FloatArray:
        """Seconds between the first and the last sample (0 without samples)."""
        span: FloatArray = np.where(self.first >= 0, self.last - self.first, 0).astype(np.float64)
        return span

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's coverage for a checkpoint."""
        return {"first": int(self.first[row]), "last": int(self.last[row]), "count": int(self.count[row])}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        self.first[row] = int(checkpoints.field(state, "first"))
        self.last[row] = int(checkpoints.field(state, "last"))
        self.count[row] = int(checkpoints.field(state, "count"))

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
