"""Batches of exponential-bucket histograms, optionally decaying (pure).

Equivalent to the Kubernetes VPA recommender's histograms (autoscaler:vertical-pod-autoscaler/pkg/
recommender/util/histogram_options.go, histogram.go, decaying_histogram.go): bucket ``n`` starts at
``first * (ratio**n - 1) / (ratio - 1)``, so bucket sizes grow as ``first * ratio**n``. With
``first = 0.01`` core, ratio 1.05 and a 1000-core maximum there are 176 buckets (same for memory with
``first = 1e7`` bytes up to 1e12). A percentile is read as the *upper* boundary of the bucket where
the cumulative weight reaches it (the last bucket has no upper boundary; its start is returned).

Decay: a sample at time ``t`` enters with weight ``w * 2**((t - ref) / half_life)``. Newer samples
weigh more, which is the same as older ones fading. When the exponent would exceed 100 the reference
moves forward to ``t`` (rounded to a multiple of the half-life) and all weights are rescaled, so floats
never overflow. Example: with a 24 h half-life, a sample from yesterday counts half as much as one now.

One object holds ``rows`` histograms in a 2-D array, so a fleet is updated with one numpy call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from rikugame.core import checkpoints

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_DECAY_EXPONENT = 100.0
EPSILON = 1e-9


@dataclass(frozen=True)
class BucketLayout:
    """Exponential bucket boundaries: bucket n has size ``first_bucket * ratio**n``."""

    first_bucket: float
    ratio: float
    max_value: float

    @cached_property
    def num_buckets(self) -> int:
        """Number of buckets needed to reach ``max_value`` (176 for the VPA layouts)."""
        return math.ceil(math.log(self.max_value * (self.ratio - 1) / self.first_bucket + 1)
                         / math.log(self.ratio)) + 1

    @cached_property
    def starts(self) -> FloatArray:
        """Start (lower boundary) of every bucket, plus one extra entry past the last."""
        n = np.arange(self.num_buckets + 1, dtype=np.float64)
        starts: FloatArray = self.first_bucket * (self.ratio**n - 1) / (self.ratio - 1)
        return starts

    def find_buckets(self, values: FloatArray) -> IntArray:
        """Bucket index of every value (values below the first boundary go to bucket 0)."""
        v = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
        idx = np.floor(np.log(v * (self.ratio - 1) / self.first_bucket + 1) / math.log(self.ratio))
        # Guard against float rounding at a boundary: a value equal to a start belongs to that bucket.
        idx = np.clip(idx, 0, self.num_buckets - 1).astype(np.int64)
        starts = self.starts
        idx -= (v < starts[idx]).astype(np.int64)
        idx += ((idx < self.num_buckets - 1) & (v >= starts[np.minimum(idx + 1, self.num_buckets)])).astype(
            np.int64)
        result: IntArray = np.clip(idx, 0, self.num_buckets - 1)
        return result

    def upper_bounds(self, buckets: IntArray) -> FloatArray:
        """The value a percentile read-out returns for each bucket (VPA semantics)."""
        last = self.num_buckets - 1
        bounds: FloatArray = np.where(buckets < last, self.starts[np.minimum(buckets + 1, last)],
                                      self.starts[last])
        return bounds


CPU_LAYOUT = BucketLayout(first_bucket=0.01, ratio=1.05, max_value=1000.0)
"""VPA's CPU layout, in cores."""
MEMORY_LAYOUT = BucketLayout(first_bucket=1e7, ratio=1.05, max_value=1e12)
"""VPA's memory layout, in bytes."""


@dataclass
class Histograms:
    """``rows`` histograms over one layout, decaying with ``half_life_seconds`` (None = no decay).

    All rows share one reference time; weights are stored relative to it.
    """

    layout: BucketLayout
    rows: int
    half_life_seconds: float | None = None
    reference_time: int | None = None
    weights: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.weights = np.zeros((self.rows, self.layout.num_buckets), dtype=np.float64)

    # -- updates ---------------------------------------------------------------------------------
    def _decay_factors(self, timestamps: IntArray) -> FloatArray:
        if self.half_life_seconds is None:
            return np.ones(len(timestamps), dtype=np.float64)
        ts = np.asarray(timestamps, dtype=np.int64)
        latest = int(ts.max())
        if self.reference_time is None:
            self._shift_reference(latest)
        assert self.reference_time is not None
        if (latest - self.reference_time) / self.half_life_seconds > MAX_DECAY_EXPONENT:
            self._shift_reference(latest)
        factors: FloatArray = np.exp2((ts - self.reference_time) / self.half_life_seconds)
        return factors

    def _shift_reference(self, timestamp: int) -> None:
        assert self.half_life_seconds is not None
        hl = self.half_life_seconds
        new_ref = int(round(timestamp / hl) * hl)
        if self.reference_time is not None:
            self.weights *= math.exp2((self.reference_time - new_ref) / hl)
            self.weights[self.weights < EPSILON * 1e-3] = 0.0
        self.reference_time = new_ref

    def add(self, rows: IntArray, values: FloatArray, timestamps: IntArray,
            weights: FloatArray | float = 1.0) -> None:
        """Add one sample per element: ``values[i]`` to histogram ``rows[i]`` at ``timestamps[i]``."""
        if len(rows) == 0:
            return
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), (len(rows),)) * self._decay_factors(
            timestamps)
        np.add.at(self.weights, (np.asarray(rows), self.layout.find_buckets(values)), w)

    def subtract(self, rows: IntArray, values: FloatArray, timestamps: IntArray,
                 weights: FloatArray | float = 1.0) -> None:
        """Remove samples added earlier with the same value, time and weight."""
        if len(rows) == 0:
            return
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), (len(rows),)) * self._decay_factors(
            timestamps)
        r = np.asarray(rows)
        b = self.layout.find_buckets(values)
        np.subtract.at(self.weights, (r, b), w)
        cell = self.weights[r, b]
        self.weights[r, b] = np.where(cell < EPSILON * np.maximum(w, 1e-300), 0.0, cell)

    def merge(self, other: Histograms) -> None:
        """Add every weight of ``other`` (same layout, rows and half-life) into this batch."""
        if other.layout != self.layout or other.rows != self.rows:
            raise ValueError("cannot merge histograms of different layout or size")
        if other.half_life_seconds != self.half_life_seconds:
            raise ValueError("cannot merge histograms of different half-lives")
        theirs = other.weights
        if self.half_life_seconds is not None and other.reference_time is not None:
            if self.reference_time is None:
                self.reference_time = other.reference_time
            theirs = theirs * math.exp2((other.reference_time - self.reference_time) / self.half_life_seconds)
        self.weights += theirs

    def clear(self, rows: IntArray) -> None:
        """Forget every sample of the given rows."""
        self.weights[np.asarray(rows)] = 0.0

    # -- read-outs -------------------------------------------------------------------------------
    def total_weight(self) -> FloatArray:
        """Total (decayed, relative to the reference) weight per row."""
        total: FloatArray = self.weights.sum(axis=1)
        return total

    def percentile(self, q: float, weights: FloatArray | None = None, *,
                   interpolate: bool = False) -> FloatArray:
        """The ``q``-th percentile (0..1) of every row; 0 for an empty row.

        By default the upper boundary of the bucket is returned (VPA read-out). With ``interpolate``
        the value is placed linearly inside the bucket by the weight still needed (closer to an exact
        order statistic; used where a peer computes exact quantiles).
        """
        w = self.weights if weights is None else weights
        cumulative = np.cumsum(w, axis=1)
        total = cumulative[:, -1]
        threshold = q * total
        floor = np.maximum(threshold * (1 - 1e-12), total * 1e-15)  # q = 0 reads the first non-empty bucket
        bucket = np.argmax(cumulative >= floor[:, None], axis=1).astype(np.int64)
        if interpolate:
            rows = np.arange(len(bucket))
            before = np.where(bucket > 0, cumulative[rows, np.maximum(bucket - 1, 0)], 0.0)
            inside = w[rows, bucket]
            fraction = np.clip((threshold - before) / np.where(inside > 0, inside, 1.0), 0.0, 1.0)
            start = self.layout.starts[bucket]
            value = start + fraction * (self.layout.upper_bounds(bucket) - start)
        else:
            value = self.layout.upper_bounds(bucket)
        result: FloatArray = np.where(total > EPSILON, value, 0.0)
        return result

    # -- checkpoints -----------------------------------------------------------------------------
    def row_state(self, row: int) -> dict[str, Any]:
        """One row, exactly: the shared reference time and the non-empty buckets' weights."""
        return {"ref": self.reference_time, **checkpoints.encode_sparse(self.weights[row])}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Load one row from :meth:`row_state` output (rescaled if this batch's reference differs)."""
        values = checkpoints.decode_sparse(state, self.layout.num_buckets)
        ref = checkpoints.field(state, "ref")
        if self.half_life_seconds is not None and ref is not None:
            if self.reference_time is None:
                self.reference_time = int(ref)
            if int(ref) != self.reference_time:
                values *= math.exp2((int(ref) - self.reference_time) / self.half_life_seconds)
        self.weights[row] = values
