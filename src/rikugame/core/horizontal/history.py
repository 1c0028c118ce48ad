"""What the horizontal side remembers of a workload (pure): compact statistics, updated minute by minute.

One ``observe`` per minute with the replica count, the ready pods and the CPU usage per ready pod. Kept
(a few KB, independent of how long the workload has run):

* the last ``RECENT_MINUTES`` minutes of total usage and their timestamps (the ``rikugame`` level reads
  them);
* Tortoise's hour-of-week replica slots (``ReplicaSlots``): per slot max(ceil(replicas × 0.5)) and
  max(ceil(replicas × 2)); a value older than 23 h is first decayed to trunc(value × 0.95), i.e. once per
  week for a weekly slot (mercari/tortoise: pkg/recommender/recommender.go, updateReplicasRecommendation;
  slots are whole hours of the week, Sunday 00:00 first);
* a VPA-style decaying histogram of per-pod CPU usage (24 h half-life; one sample per pod per minute, so a
  minute weighs as many pods as were ready, as VPA weights samples by the pod's request), fed hourly from
  the minutes since the last refresh, and Tortoise's sticky "MaxRecommendation" over the VPA target
  (pkg/tortoise/tortoise.go, UpdateContainerRecommendationFromVPA: kept while target < max < upper bound,
  else reset to target);
* the statistics of the ``rikugame`` forecast error (``forecast.ForecastErrors``), fed with every pair
  (level of the 60 minutes up to t, load of minute t + 1) whose 61 minutes are contiguous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core.checkpoints import encode_array
from rikugame.core.histograms import CPU_LAYOUT, FloatArray, Histograms, IntArray
from rikugame.core.horizontal.fields import Fields
from rikugame.core.horizontal.forecast import LONGEST_WINDOW_MINUTES, ForecastErrors

HOUR = 3600
WEEK = 7 * 24 * HOUR
SLOTS = 7 * 24
EPOCH_WEEKDAY_OFFSET_SECONDS = 4 * 24 * HOUR
"""1970-01-01 was a Thursday: shift so that slot 0 is Sunday 00:00 UTC."""
RECENT_MINUTES = LONGEST_WINDOW_MINUTES
MAX_PENDING_MINUTES = 60
"""Minutes buffered for the VPA histogram at most (fed at every refresh: hourly, i.e. 60 minutes)."""


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

    def to_checkpoint(self) -> dict[str, Any]:
        """Slot values (a list of small integers) and last update times (base64 int64)."""
        return {"values": list(self.values),
                "updated": encode_array(np.array(self.updated, dtype=np.int64))}

    def restore(self, f: Fields) -> None:
        """Load :meth:`to_checkpoint` output."""
        self.values = f.integers("values", length=SLOTS)
        self.updated = [int(v) for v in f.array("updated", np.int64, length=SLOTS)]


@dataclass
class HorizontalHistory:
    """Compact statistics of one horizontally scaled workload, as recommenders read them."""

    usage_half_life_seconds: float = 86400.0
    vpa_refresh_seconds: int = 3600
    first_seconds: int = -1
    last_seconds: int = -1
    count: int = 0
    recent_timestamps: IntArray = field(default_factory=lambda: np.full(RECENT_MINUTES, -1, dtype=np.int64))
    recent_usage_cores: FloatArray = field(default_factory=lambda: np.zeros(RECENT_MINUTES))
    """Total CPU usage of the last ``RECENT_MINUTES`` minutes, oldest first (valid: the last ``count``)."""
    recent_replicas: IntArray = field(default_factory=lambda: np.zeros(RECENT_MINUTES, dtype=np.int64))
    """Replica counts of the same minutes (Emergency raises minReplicas to their peak)."""
    min_slots: ReplicaSlots = field(default_factory=lambda: ReplicaSlots(0.5, small_value=3))
    max_slots: ReplicaSlots = field(default_factory=lambda: ReplicaSlots(2.0, small_value=12))
    usage_histogram: Histograms = field(init=False)
    pending: list[tuple[int, float, float]] = field(default_factory=list)
    """Minutes (time, total usage, ready pods) not yet in ``usage_histogram``."""
    vpa_target_cores: float = 0.0
    vpa_upper_cores: float = 0.0
    vpa_max_recommendation_cores: float = 0.0
    vpa_refreshed_seconds: int = -1
    forecast_errors: ForecastErrors = field(default_factory=ForecastErrors)

    def __post_init__(self) -> None:
        self.usage_histogram = Histograms(CPU_LAYOUT, 1, self.usage_half_life_seconds)

    # -- input ------------------------------------------------------------------------------------
    def observe(self, now: int, replicas: int, ready_pods: float, usage_per_pod_cores: float) -> None:
        """One minute: the replica count (peak of the minute), ready pods, CPU usage per ready pod."""
        total = usage_per_pod_cores * ready_pods
        if self.count >= RECENT_MINUTES and now - int(self.recent_timestamps[0]) == RECENT_MINUTES * 60:
            self.forecast_errors.add(now, self.recent_usage_cores, total)
        self.recent_timestamps[:-1] = self.recent_timestamps[1:]
        self.recent_timestamps[-1] = now
        self.recent_usage_cores[:-1] = self.recent_usage_cores[1:]
        self.recent_usage_cores[-1] = total
        self.recent_replicas[:-1] = self.recent_replicas[1:]
        self.recent_replicas[-1] = replicas
        self.pending.append((now, total, float(ready_pods)))
        self.count += 1
        if self.first_seconds < 0:
            self.first_seconds = now
        self.last_seconds = now
        self.min_slots.update(now, replicas)
        self.max_slots.update(now, replicas)
        if len(self.pending) >= MAX_PENDING_MINUTES:
            self._flush()
        if self.vpa_refreshed_seconds < 0 or now - self.vpa_refreshed_seconds >= self.vpa_refresh_seconds:
            self._refresh_vpa(now)

    # -- read-outs ----------------------------------------------------------------------------------
    def span_seconds(self) -> int:
        """Seconds between the first and the last sample (0 without samples)."""
        return 0 if self.first_seconds < 0 else self.last_seconds - self.first_seconds

    def last_total_usage(self, minutes: int) -> FloatArray:
        """Total CPU usage (cores) of the last ``minutes`` (≤ ``RECENT_MINUTES``) samples, oldest first."""
        if minutes > RECENT_MINUTES:
            raise ValueError(f"only the last {RECENT_MINUTES} minutes are kept, not {minutes}")
        n = min(minutes, self.count)
        out: FloatArray = self.recent_usage_cores[RECENT_MINUTES - n:]
        return out

    def recent_peak_replicas(self) -> int:
        """The most replicas seen in the last ``RECENT_MINUTES`` minutes (0 without samples)."""
        n = min(self.count, RECENT_MINUTES)
        return int(self.recent_replicas[RECENT_MINUTES - n:].max(initial=0))

    # -- internals ----------------------------------------------------------------------------------
    def _flush(self) -> None:
        if not self.pending:
            return
        ts = np.array([p[0] for p in self.pending], dtype=np.int64)
        total = np.array([p[1] for p in self.pending])
        ready = np.array([p[2] for p in self.pending])
        ok = ready > 0
        per_pod = np.where(ok, total / np.where(ok, ready, 1.0), 0.0)
        self.usage_histogram.add(np.zeros(int(ok.sum()), dtype=np.int64), per_pod[ok], ts[ok], ready[ok])
        self.pending = []

    def _refresh_vpa(self, now: int) -> None:
        """VPA target = P90 × 1.15, upper = P95 × 1.15 × (1 + 1/days); Tortoise's sticky max over it."""
        self.vpa_refreshed_seconds = now
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

    # -- checkpoints --------------------------------------------------------------------------------
    def to_checkpoint(self) -> dict[str, Any]:
        """A JSON-able dict; numeric arrays are base64 of little-endian bytes (floats round-trip exactly)."""
        n = min(self.count, RECENT_MINUTES)
        hist = self.usage_histogram
        used = np.flatnonzero(hist.weights[0])
        lo, hi = (int(used[0]), int(used[-1]) + 1) if len(used) else (0, 0)
        return {
            "firstSeconds": self.first_seconds,
            "lastSeconds": self.last_seconds,
            "count": self.count,
            "recentTimestamps": encode_array(self.recent_timestamps[RECENT_MINUTES - n:]),
            "recentUsageCores": encode_array(self.recent_usage_cores[RECENT_MINUTES - n:]),
            "recentReplicas": encode_array(self.recent_replicas[RECENT_MINUTES - n:].astype(np.int32)),
            "minSlots": self.min_slots.to_checkpoint(),
            "maxSlots": self.max_slots.to_checkpoint(),
            "usageHistogram": {"referenceTime": hist.reference_time, "bucketRange": [lo, hi],
                               "weights": encode_array(hist.weights[0, lo:hi])},
            "pendingTimestamps": encode_array(np.array([p[0] for p in self.pending], dtype=np.int64)),
            "pendingTotalCores": encode_array(np.array([p[1] for p in self.pending], dtype=np.float64)),
            "pendingReadyPods": encode_array(np.array([p[2] for p in self.pending], dtype=np.float64)),
            "vpaCores": encode_array(np.array([self.vpa_target_cores, self.vpa_upper_cores,
                                               self.vpa_max_recommendation_cores])),
            "vpaRefreshedSeconds": self.vpa_refreshed_seconds,
            "forecastErrors": self.forecast_errors.to_checkpoint(),
        }

    @classmethod
    def from_checkpoint(cls, f: Fields) -> HorizontalHistory:
        """Rebuild from :meth:`to_checkpoint` output (``f`` wraps it); ValueError says what is malformed."""
        h = cls()
        h.first_seconds = f.integer("firstSeconds")
        h.last_seconds = f.integer("lastSeconds")
        h.count = f.integer("count")
        if h.count < 0:
            raise ValueError(f"{f.path}.count: must not be negative, got {h.count}")
        n = min(h.count, RECENT_MINUTES)
        h.recent_timestamps[RECENT_MINUTES - n:] = f.array("recentTimestamps", np.int64, length=n)
        h.recent_usage_cores[RECENT_MINUTES - n:] = f.array("recentUsageCores", np.float64, length=n)
        h.recent_replicas[RECENT_MINUTES - n:] = f.array("recentReplicas", np.int32, length=n)
        h.min_slots.restore(f.sub("minSlots"))
        h.max_slots.restore(f.sub("maxSlots"))
        hf = f.sub("usageHistogram")
        lo, hi = hf.integers("bucketRange", length=2)
        if not 0 <= lo <= hi <= CPU_LAYOUT.num_buckets:
            raise ValueError(f"{hf.path}.bucketRange: {[lo, hi]} is outside 0..{CPU_LAYOUT.num_buckets}")
        h.usage_histogram.reference_time = hf.optional_integer("referenceTime")
        h.usage_histogram.weights[0, lo:hi] = hf.array("weights", np.float64, length=hi - lo)
        ts = f.array("pendingTimestamps", np.int64)
        total = f.array("pendingTotalCores", np.float64, length=len(ts))
        ready = f.array("pendingReadyPods", np.float64, length=len(ts))
        h.pending = [(int(t), float(u), float(r)) for t, u, r in zip(ts, total, ready, strict=True)]
        h.vpa_target_cores, h.vpa_upper_cores, h.vpa_max_recommendation_cores = (
            float(v) for v in f.array("vpaCores", np.float64, length=3))
        h.vpa_refreshed_seconds = f.integer("vpaRefreshedSeconds")
        h.forecast_errors = ForecastErrors.from_checkpoint(f.sub("forecastErrors"))
        return h
