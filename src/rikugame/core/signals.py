"""Stateful per-resource accumulators that recommenders read (pure, vectorised over rows).

Each signal ingests samples of one resource for ``rows`` containers and offers read-outs
(percentiles, maxima). Recommenders compose them; the resource is a parameter, never a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rikugame.core import checkpoints, histograms
from rikugame.core.histograms import BucketLayout, FloatArray, IntArray

BoolArray = npt.NDArray[np.bool_]


def claim_slots(slot_ids: IntArray, rows: IntArray, slot_id: IntArray) -> tuple[IntArray, BoolArray, BoolArray]:
    """Per-row rings of time slots: assign every sample to ring cell (row, slot_id % width).

    A cell holds one period (``slot_ids[row, k]``); a sample of a newer period takes the cell over (the
    caller clears the cells returned as ``renewed`` before adding), a sample of an older period than the
    cell holds is out of the ring's reach and is not kept. Each row has its own ring, so the result does
    not depend on how samples of different rows (or of one row) are interleaved across calls.
    Returns (ring index per sample, mask of the samples to keep, mask of renewed cells).
    """
    k = slot_id % slot_ids.shape[1]
    target = slot_ids.copy()
    np.maximum.at(target, (rows, k), slot_id)
    renewed: BoolArray = target != slot_ids
    slot_ids[:] = target
    keep: BoolArray = slot_id == target[rows, k]
    return k, keep, renewed


def _ring_state(slot_ids: IntArray, values: FloatArray) -> dict[str, Any]:
    """One row's ring cells that hold a period: newest id, ids as offsets from it, values."""
    used = slot_ids >= 0
    if not used.any():
        return {}
    newest = int(slot_ids[used].max())
    return {"newest": newest, "age": checkpoints.encode_array((newest - slot_ids[used]).astype(np.uint32)),
            "v": checkpoints.encode_array(values[used])}


def _load_ring(state: dict[str, Any], width: int) -> tuple[IntArray, FloatArray]:
    """(ids, values) of one row from :func:`_ring_state` output (values of shape (width,) or (width, ...))."""
    ids = np.full(width, -1, dtype=np.int64)
    if not state:
        return ids, np.zeros(0)
    newest = int(checkpoints.field(state, "newest"))
    used = newest - checkpoints.decode_array(checkpoints.field(state, "age"), np.uint32).astype(np.int64)
    ids[used % width] = used
    return ids, checkpoints.decode_array(checkpoints.field(state, "v"), np.float64)


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

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state for a checkpoint."""
        return self.hist.row_state(row)

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        self.hist.load_row_state(row, state)


@dataclass
class PeakHistogram:
    """One peak per row per interval into a decaying histogram (VPA's memory aggregation).

    The peak of an interval enters the histogram timestamped at the interval's end and is replaced
    (subtract old, add new) when a bigger sample of that interval arrives (autoscaler: pkg/recommender/
    model/container.go, addMemorySample). Unlike VPA, whose intervals start at a container's first sample,
    intervals here are aligned to the epoch (UTC days for 24 h), and each row remembers the peaks of the
    intervals of its last ``late_seconds``, so samples may arrive in any order (pods of one workload read in
    separate batches) and give the same histogram; a sample older than that (relative to the newest of the
    row) is not counted.
    """

    layout: BucketLayout
    rows: int
    half_life_seconds: float | None
    interval_seconds: int = 86400
    late_seconds: int = 16 * 86400
    hist: histograms.Histograms = field(init=False)
    peak_ids: IntArray = field(init=False)
    peaks: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.late_intervals = max(2, -(-self.late_seconds // self.interval_seconds) + 1)
        self.hist = histograms.Histograms(self.layout, self.rows, self.half_life_seconds)
        self.peak_ids = np.full((self.rows, self.late_intervals), -1, dtype=np.int64)
        self.peaks = np.zeros((self.rows, self.late_intervals), dtype=np.float64)

    def observe(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add samples (any order)."""
        if len(rows) == 0:
            return
        interval = timestamps // self.interval_seconds
        scratch = np.full(self.rows, -np.inf)
        for i in np.unique(interval):
            sel = interval == i
            scratch.fill(-np.inf)
            np.maximum.at(scratch, rows[sel], values[sel])
            touched = np.flatnonzero(np.isfinite(scratch))
            self._apply(touched, int(i), scratch[touched])

    def _apply(self, rows: IntArray, interval: int, peak: FloatArray) -> None:
        k = interval % self.late_intervals
        held = self.peak_ids[rows, k]
        end = np.full(len(rows), (interval + 1) * self.interval_seconds, dtype=np.int64)
        old = self.peaks[rows, k]
        replace = (held == interval) & (peak > old)
        if replace.any():
            had = replace & (old > 0)
            self.hist.subtract(rows[had], old[had], end[had])
            self.hist.add(rows[replace], peak[replace], end[replace])
            self.peaks[rows[replace], k] = peak[replace]
        new = held < interval
        if new.any():
            self.hist.add(rows[new], peak[new], end[new])
            self.peak_ids[rows[new], k] = interval
            self.peaks[rows[new], k] = peak[new]

    def add_synthetic_peak(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add a peak outside the interval logic (an OOM's bumped memory, as VPA does)."""
        self.hist.add(rows, values, timestamps)

    def percentile(self, q: float) -> FloatArray:
        """Percentile of the peaks per row."""
        return self.hist.percentile(q)

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state for a checkpoint."""
        return {"hist": self.hist.row_state(row), "ring": _ring_state(self.peak_ids[row], self.peaks[row])}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        self.hist.load_row_state(row, checkpoints.field(state, "hist"))
        ids, values = _load_ring(checkpoints.field(state, "ring"), self.late_intervals)
        self.peak_ids[row] = ids
        self.peaks[row] = 0.0
        self.peaks[row, ids[ids >= 0] % self.late_intervals] = values


@dataclass
class WindowedHistogram:
    """A hard time window (no decay) of samples, kept as a per-row ring of slots (e.g. 15 daily slots)."""

    layout: BucketLayout
    rows: int
    window_seconds: int
    slot_seconds: int = 86400
    slots: FloatArray = field(init=False)
    slot_ids: IntArray = field(init=False)

    def __post_init__(self) -> None:
        self.count = -(-self.window_seconds // self.slot_seconds) + 1
        self.slots = np.zeros((self.rows, self.count, self.layout.num_buckets), dtype=np.float64)
        self.slot_ids = np.full((self.rows, self.count), -1, dtype=np.int64)
        self._hist = histograms.Histograms(self.layout, self.rows, None)

    def observe(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add samples to their time slot (any order)."""
        if len(rows) == 0:
            return
        k, keep, renewed = claim_slots(self.slot_ids, rows, timestamps // self.slot_seconds)
        self.slots[renewed] = 0.0
        np.add.at(self.slots, (rows[keep], k[keep], self.layout.find_buckets(values[keep])), 1.0)

    def percentile(self, q: float, now: int) -> FloatArray:
        """Percentile per row over the window ending at ``now`` (interpolated inside the bucket)."""
        live = (self.slot_ids >= (now - self.window_seconds) // self.slot_seconds).astype(np.float64)
        total = np.einsum("rk,rkb->rb", live, self.slots)
        return self._hist.percentile(q, weights=total, interpolate=True)

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state for a checkpoint (each slot's non-empty buckets)."""
        used = np.flatnonzero(self.slot_ids[row] >= 0)
        return {"ids": checkpoints.encode_array(self.slot_ids[row, used]),
                "slots": [checkpoints.encode_sparse(self.slots[row, k]) for k in used]}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        ids = checkpoints.decode_array(checkpoints.field(state, "ids"), np.int64)
        slots = checkpoints.field(state, "slots")
        if len(slots) != len(ids):
            raise checkpoints.CheckpointError("windowed histogram: slot ids and slots differ in length")
        self.slot_ids[row] = -1
        self.slots[row] = 0.0
        for sid, slot in zip(ids, slots, strict=True):
            k = int(sid) % self.count
            self.slot_ids[row, k] = sid
            self.slots[row, k] = checkpoints.decode_sparse(slot, self.layout.num_buckets)


@dataclass
class WindowedMax:
    """The maximum over a hard time window, kept as a per-row ring of slot maxima."""

    rows: int
    window_seconds: int
    slot_seconds: int = 3600
    slot_max: FloatArray = field(init=False)
    slot_ids: IntArray = field(init=False)

    def __post_init__(self) -> None:
        self.count = -(-self.window_seconds // self.slot_seconds) + 1
        self.slot_max = np.zeros((self.rows, self.count), dtype=np.float64)
        self.slot_ids = np.full((self.rows, self.count), -1, dtype=np.int64)

    def observe(self, rows: IntArray, timestamps: IntArray, values: FloatArray) -> None:
        """Add samples (any order)."""
        if len(rows) == 0:
            return
        k, keep, renewed = claim_slots(self.slot_ids, rows, timestamps // self.slot_seconds)
        self.slot_max[renewed] = 0.0
        np.maximum.at(self.slot_max, (rows[keep], k[keep]), values[keep])

    def maximum(self, now: int, window_seconds: int | None = None) -> FloatArray:
        """Maximum per row over the window ending at ``now`` (0 when no sample); ``window_seconds`` (at
        most the ring's window) shortens it."""
        window = self.window_seconds if window_seconds is None else min(window_seconds, self.window_seconds)
        live = self.slot_ids >= (now - window) // self.slot_seconds
        result: FloatArray = np.where(live, self.slot_max, 0.0).max(axis=1, initial=0.0)
        return result

    def time_of_day_maximum(self, now: int, days: int, half_width_seconds: int,
                            day_seconds: int = 86400) -> FloatArray:
        """Maximum per row over the slots within ``half_width_seconds`` of ``now``'s time of day, on each of
        the last ``days`` days and today (0 when none has a sample).

        Slots are compared by their distance in whole slots from ``now``'s slot, taken modulo a day, so a
        slot 24 h, 48 h, … before (± the half width) counts. The ring must reach back ``days`` days plus
        the half width.
        """
        day_slots = max(1, day_seconds // self.slot_seconds)
        width = half_width_seconds // self.slot_seconds
        age = now // self.slot_seconds - self.slot_ids
        phase = age % day_slots
        near = (phase <= width) | (phase >= day_slots - width)
        live = (self.slot_ids >= 0) & (age >= 0) & (age <= days * day_slots + width) & near
        result: FloatArray = np.where(live, self.slot_max, 0.0).max(axis=1, initial=0.0)
        return result

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's state for a checkpoint."""
        return _ring_state(self.slot_ids[row], self.slot_max[row])

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        ids, values = _load_ring(state, self.count)
        self.slot_ids[row] = ids
        self.slot_max[row] = 0.0
        self.slot_max[row, ids[ids >= 0] % self.count] = values
