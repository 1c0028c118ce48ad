"""Scaling a request-rate trace to a bigger service: N independent copies of its user population.

A service with N times the users is the sum of N independent copies of the traced population. Its mean is
N times the trace's slow level, and its fluctuations around that level add up as independent variables
do: the variance grows like N, the standard deviation like √N (central limit theorem, Gaussian
approximation). So, with X(t) the minute count and m(t) its 15-minute centred mean over covered minutes,

    load_N(t) = N·m(t) + √N·(X(t) − m(t)),   clipped at 0,

keeps the trace's diurnal shape and its burst clustering (the deviation X − m keeps its time structure),
while the coefficient of variation around m shrinks by √N, as a real aggregate's does. ``mode="copy"``
is plain multiplication, N·X(t): every burst is N times as loud, a stress test, not a bigger service.

m(t) is the mean of the covered minutes in [t − 7, t + 7]; where fewer than ``MIN_COVERED_MINUTES`` of them
are covered, m(t) = X(t) (the minute is scaled as a copy: no level to separate noise from). Uncovered
minutes (NaN) stay NaN.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from rikugame.core.histograms import FloatArray

ScaleMode = Literal["aggregate", "copy"]
SCALE_MODES: tuple[ScaleMode, ...] = ("aggregate", "copy")
WINDOW_MINUTES = 15
"""Width of the centred mean m(t) (t − 7 … t + 7)."""
MIN_COVERED_MINUTES = 5
"""Covered minutes a window needs for m(t) to be its mean."""


def centred_mean(requests: FloatArray, window: int = WINDOW_MINUTES,
                 min_covered: int = MIN_COVERED_MINUTES) -> FloatArray:
    """Mean of the covered (finite) values in the centred ``window`` around each minute; NaN where fewer
    than ``min_covered`` are covered."""
    half = window // 2
    covered = np.isfinite(requests)
    values = np.where(covered, requests, 0.0)
    n = len(values)
    csum = np.concatenate(([0.0], np.cumsum(values)))
    ccount = np.concatenate(([0], np.cumsum(covered.astype(np.int64))))
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    count = ccount[hi] - ccount[lo]
    total = csum[hi] - csum[lo]
    out: FloatArray = np.where(count >= min_covered, total / np.maximum(count, 1), np.nan)
    return out


def scale_load(requests: FloatArray, n: float, mode: ScaleMode = "aggregate") -> FloatArray:
    """The trace's minute counts for a service ``n`` times as big (see the module docstring)."""
    if not (math.isfinite(n) and n > 0):
        raise ValueError(f"load scale must be a positive number, got {n!r}")
    if mode == "copy":
        copied: FloatArray = requests * n
        return copied
    if mode != "aggregate":
        raise ValueError(f"unknown scale mode {mode!r}; choose from {', '.join(SCALE_MODES)}")
    m = centred_mean(requests)
    m = np.where(np.isfinite(m), m, requests)
    out: FloatArray = np.maximum(n * m + math.sqrt(n) * (requests - m), 0.0)
    out[~np.isfinite(requests)] = np.nan
    return out
