"""The one-minute-ahead load forecast of the ``rikugame`` policy and the compact statistics of its error.

The level L(t) is a weighted mean of the total CPU usage of the last 1, 5, 20 and 60 minutes
(``WINDOWS_MINUTES``; candidate weightings ``LEVELS``). Its error scales like sqrt(L) (request counts are
Poisson-like), so the statistic kept per candidate is the normalised error e = (load(t+1) − L(t)) / sqrt(L(t)),
updated minute by minute instead of being recomputed from weeks of raw minutes:

* a decaying histogram of e ≥ 0 (all mass below 0 in one number: the margin is clipped at 0 and the budget
  is below 50 %, so only the upper half is ever read). Buckets are VPA's exponential layout
  (autoscaler: vertical-pod-autoscaler/pkg/recommender/util/histogram_options.go) with 1 % growth, so a
  quantile is read to about 1 % (linear inside its bucket);
* decaying sums of L and sqrt(L), from which the daily fit compares what each candidate would have cost.

Half-life: 14 d × ln 2 ≈ 9.7 d, the exponential weighting whose mean sample age (14 d) equals that of the
4-week window the fit used before (weights 2^(−age/half-life) = e^(−age/14 d)). Like VPA's decaying
histograms (decaying_histogram.go), weights are stored relative to a reference time that moves forward
when the exponent would pass ``MAX_DECAY_EXPONENT``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core.checkpoints import encode_array
from rikugame.core.histograms import MAX_DECAY_EXPONENT, BucketLayout, FloatArray, IntArray
from rikugame.core.horizontal.fields import Fields

WINDOWS_MINUTES = (1, 5, 20, 60)
LONGEST_WINDOW_MINUTES = max(WINDOWS_MINUTES)
LEVELS: tuple[tuple[float, ...], ...] = (
    (0.0, 0.0, 1.0, 0.0),
    (0.0, 0.0, 0.5, 0.5),
    (0.2, 0.2, 0.2, 0.4),
    (1.0, 0.0, 0.0, 0.0),
)
"""Candidate level weights over ``WINDOWS_MINUTES`` (the first: a plain 20-minute mean; the last: the last
minute's load, the naive forecast — the best one when the noise of a large aggregate is small against its
level, and the reference of the HPA's own reaction, which reads the last minute)."""
LAST_MINUTE = LEVELS.index((1.0, 0.0, 0.0, 0.0))
ERROR_LAYOUT = BucketLayout(first_bucket=0.005, ratio=1.01, max_value=20.0)
"""Buckets of e ≥ 0: 0.005 wide at 0, 1 % wider each; e ≥ 20 lands in the last one (375 buckets)."""
ERROR_HALF_LIFE_SECONDS = 14 * 86400 * math.log(2)
"""Mean sample age 14 days, as in the former 4-week window (see the module docstring)."""
_STARTS: list[float] = ERROR_LAYOUT.starts.tolist()
_LAST_BUCKET = ERROR_LAYOUT.num_buckets - 1
_LOG_RATIO = math.log(ERROR_LAYOUT.ratio)
_INVERSE_FIRST = (ERROR_LAYOUT.ratio - 1) / ERROR_LAYOUT.first_bucket


def window_sums(usage: FloatArray) -> tuple[float, ...]:
    """Σ usage over each of ``WINDOWS_MINUTES``, from the last ``LONGEST_WINDOW_MINUTES`` usages (oldest first)."""
    n = len(usage)
    return tuple(float(usage[n - k:].sum()) for k in WINDOWS_MINUTES)


def combine(sums: tuple[float, ...], weights: tuple[float, ...]) -> float:
    """L = Σ weight × window mean."""
    out = 0.0
    for w, k, total in zip(weights, WINDOWS_MINUTES, sums, strict=True):
        if w:
            out += w / k * total
    return out


def level(usage: FloatArray, weights: tuple[float, ...]) -> float:
    """L from the last ``LONGEST_WINDOW_MINUTES`` total usages (oldest first, exactly that many)."""
    return combine(window_sums(usage), weights)


@dataclass
class ForecastErrors:
    """Per candidate of ``LEVELS``: decaying histogram of e ≥ 0, weight of e < 0, sums of L and sqrt(L)."""

    reference_time: int | None = None
    weights: FloatArray = field(default_factory=lambda: np.zeros((len(LEVELS), ERROR_LAYOUT.num_buckets)))
    below: FloatArray = field(default_factory=lambda: np.zeros(len(LEVELS)))
    level_sums: FloatArray = field(default_factory=lambda: np.zeros(len(LEVELS)))
    root_sums: FloatArray = field(default_factory=lambda: np.zeros(len(LEVELS)))
    pairs: IntArray = field(default_factory=lambda: np.zeros(len(LEVELS), dtype=np.int64))
    """Pairs (L(t), load(t+1)) seen per candidate, not decayed (how much history a fit stands on)."""
    moves: FloatArray = field(default_factory=lambda: np.zeros(2))
    """Decaying Σ |load(t+1) − load(t)| (cores) and Σ weight: the load's mean one-minute movement, from
    which a floor's write rate is estimated."""

    def add(self, now: int, recent_usage: FloatArray, next_usage: float) -> None:
        """One pair: ``recent_usage`` = the 60 minutes up to t (oldest first), ``next_usage`` = load(t+1)."""
        factor = self._factor(now)
        starts, last = _STARTS, _LAST_BUCKET
        sums = window_sums(recent_usage)
        self.moves[0] += factor * abs(next_usage - float(recent_usage[-1]))
        self.moves[1] += factor
        for c, weights in enumerate(LEVELS):
            lv = combine(sums, weights)
            if not lv > 0:
                continue
            root = math.sqrt(lv)
            e = (next_usage - lv) / root
            self.pairs[c] += 1
            self.level_sums[c] += factor * lv
            self.root_sums[c] += factor * root
            if e < 0:
                self.below[c] += factor
                continue
            b = min(int(math.log(e * _INVERSE_FIRST + 1) / _LOG_RATIO), last)
            if b > 0 and e < starts[b]:  # float rounding at a boundary (as BucketLayout.find_buckets)
                b -= 1
            elif b < last and e >= starts[b + 1]:
                b += 1
            self.weights[c, b] += factor

    def quantile(self, candidate: int, q: float) -> float:
        """The ``q`` quantile of e for one candidate, linear inside its bucket; 0 when it falls below 0."""
        row = self.weights[candidate]
        below = float(self.below[candidate])
        total = below + float(row.sum())
        threshold = q * total
        if total <= 0 or threshold <= below:
            return 0.0
        cumulative = below + np.cumsum(row)
        b = int(np.argmax(cumulative >= threshold * (1 - 1e-12)))
        inside = float(row[b])
        before = float(cumulative[b]) - inside
        fraction = min(max((threshold - before) / inside, 0.0), 1.0) if inside > 0 else 0.0
        start = float(ERROR_LAYOUT.starts[b])
        upper = float(ERROR_LAYOUT.upper_bounds(np.array([b]))[0])
        return start + fraction * (upper - start)

    def mean_floor(self, candidate: int, z: float) -> float:
        """Weighted mean of L + z·sqrt(L): what the candidate's floor would have cost per minute, in cores."""
        total = float(self.below[candidate] + self.weights[candidate].sum())
        if total <= 0:
            return math.inf
        return float(self.level_sums[candidate] + z * self.root_sums[candidate]) / total

    def mean_move(self) -> float:
        """Weighted mean |load(t+1) − load(t)| in cores (0 without pairs)."""
        return float(self.moves[0] / self.moves[1]) if self.moves[1] > 0 else 0.0

    def _factor(self, now: int) -> float:
        hl = ERROR_HALF_LIFE_SECONDS
        if self.reference_time is None or (now - self.reference_time) / hl > MAX_DECAY_EXPONENT:
            new_ref = int(round(now / hl) * hl)
            if self.reference_time is not None:
                shrink = math.exp2((self.reference_time - new_ref) / hl)
                for arr in (self.weights, self.below, self.level_sums, self.root_sums, self.moves):
                    arr *= shrink
                    arr[arr < 1e-12] = 0.0
            self.reference_time = new_ref
        return math.exp2((now - self.reference_time) / hl)

    # -- checkpoints -----------------------------------------------------------------------------------
    def to_checkpoint(self) -> dict[str, Any]:
        """Reference time, the bucket weights (base64 float64: the non-zero ones with their flat indices as
        uint16, or all of them, ``bucketIndex`` null, when that is shorter) and the per-candidate sums."""
        flat = self.weights.reshape(-1)
        nonzero = np.flatnonzero(flat)
        sparse = len(nonzero) * 10 < len(flat) * 8
        return {
            "referenceTime": self.reference_time,
            "bucketIndex": encode_array(nonzero.astype(np.uint16)) if sparse else None,
            "bucketWeights": encode_array(flat[nonzero] if sparse else flat),
            "below": encode_array(self.below),
            "levelSums": encode_array(self.level_sums),
            "rootSums": encode_array(self.root_sums),
            "pairs": [int(p) for p in self.pairs],
            "moves": encode_array(self.moves),
        }

    @classmethod
    def from_checkpoint(cls, f: Fields) -> ForecastErrors:
        """Rebuild from :meth:`to_checkpoint` output (``f`` wraps it); ValueError says what is malformed."""
        n = len(LEVELS)
        size = n * ERROR_LAYOUT.num_buckets
        if f.data.get("bucketIndex", 0) is None:
            weights = f.array("bucketWeights", np.float64, length=size)
        else:
            index = f.array("bucketIndex", np.uint16).astype(np.int64)
            if len(index) and (int(index.max()) >= size or np.any(np.diff(index) <= 0)):
                raise ValueError(f"{f.path}.bucketIndex: expected increasing indices below {size}")
            weights = np.zeros(size)
            weights[index] = f.array("bucketWeights", np.float64, length=len(index))
        return cls(reference_time=f.optional_integer("referenceTime"),
                   weights=weights.reshape(n, ERROR_LAYOUT.num_buckets),
                   below=f.array("below", np.float64, length=n),
                   level_sums=f.array("levelSums", np.float64, length=n),
                   root_sums=f.array("rootSums", np.float64, length=n),
                   pairs=np.array(f.integers("pairs", length=n), dtype=np.int64),
                   moves=f.array("moves", np.float64, length=2) if "moves" in f.data else np.zeros(2))


__all__ = ["ERROR_HALF_LIFE_SECONDS", "ERROR_LAYOUT", "LAST_MINUTE", "LEVELS", "LONGEST_WINDOW_MINUTES",
           "WINDOWS_MINUTES", "ForecastErrors", "combine", "level", "window_sums"]
