"""The usage trace as the backtest replays it: columnar samples sorted by entity, then time.

Its own module so that ``sources`` (which reads trace files) and ``sim`` (which replays them) share the
type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rikugame.core.histograms import FloatArray, IntArray


@dataclass(frozen=True)
class Trace:
    """A usage trace: samples sorted by entity (row), then time (int64 Unix seconds)."""

    entities: list[str]
    rows: IntArray
    timestamps: IntArray
    cpu_cores: FloatArray
    memory_bytes: FloatArray
    """NaN where memory was not measured."""
    source: str
    warnings: tuple[str, ...] = ()
    """What loading left out or could not use (one line each), for the front end to print."""

    @property
    def num_samples(self) -> int:
        """Number of samples."""
        return len(self.rows)

    @property
    def has_memory(self) -> bool:
        """Whether any memory value is present."""
        return bool(np.isfinite(self.memory_bytes).any())

    def spans_seconds(self) -> IntArray:
        """Per entity (row): last minus first timestamp."""
        first = np.full(len(self.entities), np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(len(self.entities), np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(first, self.rows, self.timestamps)
        np.maximum.at(last, self.rows, self.timestamps)
        spans: IntArray = np.where(last >= first, last - first, 0)
        return spans

    def select(self, entities: list[str]) -> Trace:
        """A trace with only the named entities (rows renumbered)."""
        wanted = {e: i for i, e in enumerate(entities)}
        old_to_new = np.array([wanted.get(e, -1) for e in self.entities], dtype=np.int64)
        new_rows = old_to_new[self.rows]
        keep = new_rows >= 0
        order = np.lexsort((self.timestamps[keep], new_rows[keep]))
        return Trace(entities=list(entities), rows=new_rows[keep][order],
                     timestamps=self.timestamps[keep][order], cpu_cores=self.cpu_cores[keep][order],
                     memory_bytes=self.memory_bytes[keep][order], source=self.source, warnings=self.warnings)
