"""Stateful per-resource accumulators that recommenders read (pure, vectorised over rows).

Each signal ingests samples of one resource for ``rows`` containers and offers read-outs
(percentiles, maxima). Recommenders compose them; the resource is a parameter, never a copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rikugame.core import histograms
from rikugame.core.histograms import BucketLayout, FloatArray, IntArray


def group_starts(rows: IntArray, keys: IntArray) -> IntArray:
    """Indices where a run of equal (row, key) pairs starts, for rows/keys sorted within each row."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.ones(len(rows), dtype=bool)
    change[1:] = (rows[1:] != rows[:-1]) | (keys[1:] != keys[:-1])
    starts: IntArray = np.flatnonzero(change).astype(np.int64)
    return starts


def rank_within_row(group_rows: IntArray) -> IntArray:
    """0, 1, 2, … for consecutive groups of the same row (group_rows sorted)."""
    n = len(group_rows)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new_row = np.ones(n, dtype=bool)
    new_row[1:] = group_rows[1:] != group_rows[:-1]
    first_index = np.maximum.accumulate(np.where(new_row, np.arange(n), 0))
    ranks: IntArray = (np.arange(n) - first_index).astype(np.int64)
    return ranks


def ring_slots(slot_ids: IntArray, timestamps: IntArray,
               slot_seconds: int) -> Iterator[tuple[int, npt.NDArray[np.bool_], bool]]:
    """Walk the time slots the samples fall in, over a ring of ``len(slot_ids)`` slots.

    Yields (ring index, mask of the samples in that slot, whether the ring slot still holds an older
    period that the caller must clear first) and records the new period in ``slot_ids``.
    """
    slot_id = timestamps // slot_seconds
    for sid in np.unique(slot_id):
        k = int(sid % len(slot_ids))
        stale = bool(slot_ids[k] != sid and slot_ids[k] >= 0)
        slot_ids[k] = sid
        yield k, slot_id == sid, stale


@dataclass
class SampleHistogram:
    """Every sample into a (decaying) histogram; optional load adjustment (weight = value)."""

    layout: BucketLayout
    rows: int
    half_life_seconds: float | None
    load_adjusted: bool = False
    hist: histograms.Histograms = field(init=False)

    def __post_init__(self) -> None:
        self.hist = histograms.Histograms(self.layout, self.rows, self.half_life_seconds)

    def observe(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add samples."""
        weights = np.maximum(values, 0.0) if self.load_adjusted else 1.0
        self.hist.add(rows, values, timestamps, weights)

    def percentile(self, q: float) -> FloatArray:
        """Percentile per row (0 when empty)."""
        return self.hist.percentile(q)


@dataclass
class PeakHistogram:
    """One peak per row per interval into a decaying histogram (VPA's memory aggregation).

    Intervals are anchored at each row's first sample; the current interval's peak is replaced
    (subtract old, add new) when a bigger sample arrives, and is timestamped at the interval's end
    (autoscaler: pkg/recommender/model/container.go, addMemorySample).
    """

    layout: BucketLayout
    rows: int
    half_life_seconds: float | None
    interval_seconds: int = 86400
    hist: histograms.Histograms = field(init=False)
    anchor: IntArray = field(init=False)
    current_interval: IntArray = field(init=False)
    current_peak: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.hist = histograms.Histograms(self.layout, self.rows, self.half_life_seconds)
        self.anchor = np.full(self.rows, -1, dtype=np.int64)
        self.current_interval = np.full(self.rows, -1, dtype=np.int64)
        self.current_peak = np.zeros(self.rows, dtype=np.float64)

    def observe(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add samples (sorted by row, then time); older-than-current intervals are ignored."""
        if len(rows) == 0:
            return
        fresh = self.anchor[rows] < 0
        if fresh.any():
            first = np.unique(rows[fresh], return_index=True)
            self.anchor[first[0]] = timestamps[fresh][first[1]]
        interval = (timestamps - self.anchor[rows]) // self.interval_seconds
        keep = interval >= self.current_interval[rows]
        rows, interval, values = rows[keep], interval[keep], values[keep]
        if len(rows) == 0:
            return
        starts = group_starts(rows, interval)
        g_rows = rows[starts]
        g_interval = interval[starts]
        g_max = np.maximum.reduceat(values, starts)
        ranks = rank_within_row(g_rows)
        for rank in range(int(ranks.max()) + 1):
            sel = ranks == rank
            self._apply(g_rows[sel], g_interval[sel], g_max[sel])

    def _apply(self, rows: IntArray, interval: IntArray, peak: FloatArray) -> None:
        end = self.anchor[rows] + (interval + 1) * self.interval_seconds
        same = interval == self.current_interval[rows]
        old = self.current_peak[rows]
        replace = same & (peak > old)
        if replace.any():
            had = replace & (old > 0)
            self.hist.subtract(rows[had], old[had], end[had])
            self.hist.add(rows[replace], peak[replace], end[replace])
            self.current_peak[rows[replace]] = peak[replace]
        new = ~same
        if new.any():
            self.hist.add(rows[new], peak[new], end[new])
            self.current_interval[rows[new]] = interval[new]
            self.current_peak[rows[new]] = peak[new]

    def add_synthetic_peak(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add a peak outside the interval logic (an OOM's bumped memory, as VPA does)."""
        self.hist.add(rows, values, timestamps)

    def percentile(self, q: float) -> FloatArray:
        """Percentile of the peaks per row."""
        return self.hist.percentile(q)


@dataclass
class WindowedHistogram:
    """A hard time window (no decay) of samples, kept as a ring of slots (e.g. 14 daily slots)."""

    layout: BucketLayout
    rows: int
    window_seconds: int
    slot_seconds: int = 86400
    slots: FloatArray = field(init=False)
    total: FloatArray = field(init=False)
    slot_ids: IntArray = field(init=False)

    def __post_init__(self) -> None:
        self.count = -(-self.window_seconds // self.slot_seconds) + 1
        self.slots = np.zeros((self.rows, self.count, self.layout.num_buckets), dtype=np.float64)
        self.total = np.zeros((self.rows, self.layout.num_buckets), dtype=np.float64)
        self.slot_ids = np.full(self.count, -1, dtype=np.int64)
        self._hist = histograms.Histograms(self.layout, self.rows, None)

    def advance(self, now: int) -> None:
        """Drop the slots that fall out of the window ending at ``now``."""
        oldest = (now - self.window_seconds) // self.slot_seconds
        for k in np.flatnonzero((self.slot_ids >= 0) & (self.slot_ids < oldest)):
            self.total -= self.slots[:, k, :]
            self.slots[:, k, :] = 0.0
            self.slot_ids[k] = -1
        np.maximum(self.total, 0.0, out=self.total)

    def observe(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add samples to their time slot."""
        if len(rows) == 0:
            return
        for k, sel, stale in ring_slots(self.slot_ids, timestamps, self.slot_seconds):
            if stale:
                self.total -= self.slots[:, k, :]
                self.slots[:, k, :] = 0.0
            buckets = self.layout.find_buckets(values[sel])
            np.add.at(self.slots[:, k, :], (rows[sel], buckets), 1.0)
            np.add.at(self.total, (rows[sel], buckets), 1.0)

    def percentile(self, q: float) -> FloatArray:
        """Percentile per row over the window (interpolated inside the bucket)."""
        return self._hist.percentile(q, weights=self.total, interpolate=True)

    def count_samples(self) -> FloatArray:
        """Samples in the window per row."""
        counted: FloatArray = self.total.sum(axis=1)
        return counted


@dataclass
class WindowedMax:
    """The maximum over a hard time window, kept as a ring of slot maxima."""

    rows: int
    window_seconds: int
    slot_seconds: int = 3600
    slot_max: FloatArray = field(init=False)
    slot_ids: IntArray = field(init=False)

    def __post_init__(self) -> None:
        self.count = -(-self.window_seconds // self.slot_seconds) + 1
        self.slot_max = np.zeros((self.rows, self.count), dtype=np.float64)
        self.slot_ids = np.full(self.count, -1, dtype=np.int64)

    def observe(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add samples."""
        if len(rows) == 0:
            return
        for k, sel, stale in ring_slots(self.slot_ids, timestamps, self.slot_seconds):
            if stale:
                self.slot_max[:, k] = 0.0
            np.maximum.at(self.slot_max[:, k], rows[sel], values[sel])

    def maximum(self, now: int) -> FloatArray:
        """Maximum per row over the window ending at ``now`` (0 when no sample)."""
        oldest = (now - self.window_seconds) // self.slot_seconds
        live = (self.slot_ids >= oldest) & (self.slot_ids >= 0)
        if not live.any():
            return np.zeros(self.rows, dtype=np.float64)
        result: FloatArray = self.slot_max[:, live].max(axis=1)
        return result

    def state(self) -> dict[str, Any]:
        """JSON-ready state (for checkpoints)."""
        return {"slotIds": self.slot_ids.tolist(), "slotMax": self.slot_max.tolist()}

