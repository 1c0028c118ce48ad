"""What the horizontal side remembers of a workload (pure): minute samples and the aggregates read from them.

One ``observe`` per minute with the replica count, the ready pods and the CPU usage per ready pod. Kept:

* a ring of the last ``retention_minutes`` minute samples (total usage, replicas, ready pods), from which
  recommenders compute what they need with numpy;
* Tortoise's hour-of-week replica slots (``ReplicaSlots``): per slot max(ceil(replicas × 0.5)) and
  max(ceil(replicas × 2)); a value older than 23 h is first decayed to trunc(value × 0.95), i.e. once per
  week for a weekly slot (mercari/tortoise: pkg/recommender/recommender.go, updateReplicasRecommendation;
  slots are whole hours of the week, Sunday 00:00 first);
* a VPA-style decaying histogram of per-pod CPU usage (24 h half-life; one sample per pod per minute, so a
  minute weighs as many pods as were ready, as VPA weights samples by the pod's request) and Tortoise's
  sticky "MaxRecommendation" over the VPA target (pkg/tortoise/tortoise.go,
  UpdateContainerRecommendationFromVPA: kept while target < max < upper bound, else reset to target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core.histograms import CPU_LAYOUT, FloatArray, Histograms, IntArray

HOUR = 3600
WEEK = 7 * 24 * HOUR
SLOTS = 7 * 24
EPOCH_WEEKDAY_OFFSET_SECONDS = 4 * 24 * HOUR
"""1970-01-01 was a Thursday: shift so that slot 0 is Sunday 00:00 UTC."""


def hour_of_week(now: int) -> int:
    """Slot index 0..167 of ``now`` (Unix s, UTC), Sunday 00:00 = 0."""
    return ((now + EPOCH_WEEKDAY_OFFSET_SECONDS) % WEEK) // HOUR


@dataclass
class ReplicaSlots:
    """Tortoise's per-hour-of-week replica maximum of ceil(replicas × multiplier)."""

    multiplier: float
    small_value: int
    """Stored instead of a value below ``minimum`` (Tortoise: 3 for min, 3 × 2 / 0.5 = 12 for max)."""
    minimum: int = 3
    decay: float = 0.95
    values: list[int] = field(default_factory=lambda: [0] * SLOTS)
    updated: list[int] = field(default_factory=lambda: [-1] * SLOTS)

    def update(self, now: int, replicas: int) -> None:
        """Record a replica count seen at ``now``."""
        value = math.ceil(replicas * self.multiplier - 1e-9)
        if value < self.minimum:
            value = self.small_value
        slot = hour_of_week(now)
        previous = self.values[slot]
        if self.updated[slot] >= 0 and now - self.updated[slot] >= 23 * HOUR:
            previous = int(previous * self.decay)
        self.values[slot] = max(value, previous)
        self.updated[slot] = now

    def value(self, now: int) -> int:
        """The slot value for ``now`` (0 = never seen)."""
        return self.values[hour_of_week(now)]

    def complete(self) -> bool:
        """Every slot has a value."""
        return min(self.values) > 0


@dataclass
class HorizontalHistory:
    """Minute samples of one horizontally scaled workload and the aggregates recommenders read."""

    retention_minutes: int = 4 * 7 * 1440
    usage_half_life_seconds: float = 86400.0
    vpa_refresh_seconds: int = 3600
    first_seconds: int = -1
    last_seconds: int = -1
    count: int = 0
    timestamps: IntArray = field(init=False)
    total_usage_cores: FloatArray = field(init=False)
    ready_pods: FloatArray = field(init=False)
    replicas: IntArray = field(init=False)
    min_slots: ReplicaSlots = field(default_factory=lambda: ReplicaSlots(0.5, small_value=3))
    max_slots: ReplicaSlots = field(default_factory=lambda: ReplicaSlots(2.0, small_value=12))
    usage_histogram: Histograms = field(init=False)
    vpa_target_cores: float = 0.0
    vpa_upper_cores: float = 0.0
    vpa_max_recommendation_cores: float = 0.0
    cache: dict[str, Any] = field(default_factory=dict)
    """Recommenders' derived values (recomputed from the samples; not part of a checkpoint)."""
    _flushed: int = 0
    _vpa_refreshed: int = -1

    def __post_init__(self) -> None:
        n = self.retention_minutes
        self.timestamps = np.full(n, -1, dtype=np.int64)
        self.total_usage_cores = np.zeros(n)
        self.ready_pods = np.zeros(n)
        self.replicas = np.zeros(n, dtype=np.int64)
        self.usage_histogram = Histograms(CPU_LAYOUT, 1, self.usage_half_life_seconds)

    # -- input ------------------------------------------------------------------------------------
    def observe(self, now: int, replicas: int, ready_pods: float, usage_per_pod_cores: float) -> None:
        """One minute: the replica count (peak of the minute), ready pods, CPU usage per ready pod."""
        i = self.count % self.retention_minutes
        self.timestamps[i] = now
        self.total_usage_cores[i] = usage_per_pod_cores * ready_pods
        self.ready_pods[i] = ready_pods
        self.replicas[i] = replicas
        self.count += 1
        if self.first_seconds < 0:
            self.first_seconds = now
        self.last_seconds = now
        self.min_slots.update(now, replicas)
        self.max_slots.update(now, replicas)
        if self.count - self._flushed >= self.retention_minutes // 2:
            self._flush()
        if self._vpa_refreshed < 0 or now - self._vpa_refreshed >= self.vpa_refresh_seconds:
            self._refresh_vpa(now)

    # -- read-outs ----------------------------------------------------------------------------------
    def span_seconds(self) -> int:
        """Seconds between the first and the last sample (0 without samples)."""
        return 0 if self.first_seconds < 0 else self.last_seconds - self.first_seconds

    def recent(self, minutes: int) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
        """The last ``minutes`` samples, oldest first: timestamps, total usage, ready pods, replicas."""
        n = min(minutes, self.count, self.retention_minutes)
        idx = (np.arange(self.count - n, self.count) % self.retention_minutes)
        return self.timestamps[idx], self.total_usage_cores[idx], self.ready_pods[idx], self.replicas[idx]

    def last_total_usage(self, minutes: int) -> FloatArray:
        """Total CPU usage (cores) of the last ``minutes`` samples, oldest first (cheap: slices)."""
        n = min(minutes, self.count, self.retention_minutes)
        start = (self.count - n) % self.retention_minutes
        if start + n <= self.retention_minutes:
            return self.total_usage_cores[start:start + n]
        head = self.total_usage_cores[start:]
        out: FloatArray = np.concatenate((head, self.total_usage_cores[: n - len(head)]))
        return out

    def usage_percentile_cores(self, q: float) -> float:
        """Percentile of per-pod CPU usage (pod-weighted, 24 h half-life)."""
        self._flush()
        return float(self.usage_histogram.percentile(q)[0])

    # -- internals ----------------------------------------------------------------------------------
    def _flush(self) -> None:
        new = self.count - self._flushed
        if new <= 0:
            return
        idx = np.arange(self._flushed, self.count) % self.retention_minutes
        ready = self.ready_pods[idx]
        ok = ready > 0
        per_pod = np.where(ok, self.total_usage_cores[idx] / np.where(ok, ready, 1.0), 0.0)
        self.usage_histogram.add(np.zeros(int(ok.sum()), dtype=np.int64), per_pod[ok],
                                 self.timestamps[idx][ok],
                                 ready[ok])
        self._flushed = self.count

    def _refresh_vpa(self, now: int) -> None:
        """VPA target = P90 × 1.15, upper = P95 × 1.15 × (1 + 1/days); Tortoise's sticky max over it."""
        self._vpa_refreshed = now
        self._flush()
        hist = self.usage_histogram
        p90 = float(hist.percentile(0.90)[0])
        p95 = float(hist.percentile(0.95)[0])
        days = self.span_seconds() / 86400
        self.vpa_target_cores = p90 * 1.15
        self.vpa_upper_cores = p95 * 1.15 * (1 + 1 / days) if days > 0 else math.inf
        current = self.vpa_max_recommendation_cores
        if not self.vpa_target_cores < current < self.vpa_upper_cores:
            self.vpa_max_recommendation_cores = self.vpa_target_cores
