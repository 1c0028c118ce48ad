"""Limits from decided requests, under a Tuner's limit policy (pure; one place for report, sim, operator)."""

from __future__ import annotations

import numpy as np

from rikugame.core.histograms import IntArray
from rikugame.core.policy import LimitPolicy

NO_LIMIT = -1


def limits_for(policy: LimitPolicy, ratio: float, requests: IntArray, current_limits: IntArray) -> IntArray:
    """The limit per row (-1 = none): kept, equal to the request, request × ratio (rounded up), or none.

    ``Keep`` keeps the current limit but never below the new request (the API server refuses a request
    above its limit).
    """
    requests = np.asarray(requests, dtype=np.int64)
    if policy is LimitPolicy.EQUAL_TO_REQUEST:
        return requests.copy()
    if policy is LimitPolicy.PROPORTIONAL:
        out: IntArray = np.ceil(np.round(requests * ratio, 6)).astype(np.int64)
        return np.where(requests >= 0, out, NO_LIMIT)
    if policy is LimitPolicy.REMOVE:
        return np.full(len(requests), NO_LIMIT, dtype=np.int64)
    current = np.asarray(current_limits, dtype=np.int64)
    kept: IntArray = np.where(current >= 0, np.maximum(current, requests), NO_LIMIT)
    return kept
