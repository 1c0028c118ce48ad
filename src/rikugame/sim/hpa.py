"""A faithful autoscaling/v2 HPA controller for the simulated cluster (one HPA, synced every 15 s).

Restated, not copied, from kubernetes: pkg/controller/podautoscaler/horizontal.go (reconcileAutoscaler,
computeReplicasForMetrics, normalizeDesiredReplicasWithBehaviors, stabilizeRecommendationWithBehaviors,
convertDesiredReplicasWithBehaviorRate, calculateScale{Up,Down}Limit…, storeScaleEvent) and
replica_calculator.go (GetResourceReplicas, groupPods), and the HPA page of the Kubernetes docs:

1. ``current > maxReplicas`` → max; ``current < minReplicas`` → min (no stabilisation, no rate limit);
2. else every metric proposes replicas (``resource_replicas``): no change while
   1 − scale-down tolerance ≤ ratio ≤ 1 + scale-up tolerance (each the behaviour's ``tolerance`` when set,
   KEP-4951, else the controller's 0.1), not-ready pods count 0 %
   on a would-be scale-up and are ignored on a scale-down, pods without a metric count 100 % on a
   scale-down and 0 % on a scale-up, and nothing happens when that flips the direction; several
   metrics → the largest proposal; an unusable metric blocks any scale-down;
3. stabilisation: the proposal is replaced by the min (scale-up window, 0 s) or max (scale-down window,
   300 s) of the proposals recorded within the window (timestamps strictly inside);
4. rate limits: the behaviour policies against the scale events of each policy's period; then min/max.

Inputs and outputs are plain dataclasses (``MetricSample``, ``SyncInput``, ``SyncResult``) so the e2e tier
can feed the real controller and this one the same per-sync pod metrics and compare the replica counts.
What is simplified: metrics are fresh at every sync (metrics-server's scrape window and the 5-minute
CPU-initialisation rule collapse into "a pod has a metric once it is ready"); pods are never Failed or
being deleted; scale-to-zero is not modelled.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rikugame.core.horizontal.hpa import (
    HPASettings,
    scale_down_limit,
    scale_up_limit,
)

DEFAULT_TOLERANCE = 0.1
DEFAULT_DOWNSCALE_STABILIZATION_SECONDS = 300
SYNC_PERIOD_SECONDS = 15


@dataclass(frozen=True)
class PodMetric:
    """One pod as the controller sees it: readiness, CPU usage (None = no metric) and CPU request."""

    ready: bool
    usage_millicores: float | None
    request_millicores: float


@dataclass(frozen=True)
class MetricSample:
    """One Resource/Utilization metric at a sync, summed over pod groups (``from_pods`` builds it)."""

    target_utilization_percent: int
    ready_pods: int
    ready_usage_millicores: float
    ready_request_millicores: float
    unready_pods: int = 0
    unready_request_millicores: float = 0.0
    missing_pods: int = 0
    missing_request_millicores: float = 0.0

    @classmethod
    def from_pods(cls, target_utilization_percent: int, pods: Iterable[PodMetric]) -> MetricSample:
        """Group pods like groupPods(): not ready → unready, ready without a metric → missing."""
        values = [0, 0.0, 0.0, 0, 0.0, 0, 0.0]
        for pod in pods:
            if not pod.ready:
                values[3] += 1
                values[4] += pod.request_millicores
            elif pod.usage_millicores is None:
                values[5] += 1
                values[6] += pod.request_millicores
            else:
                values[0] += 1
                values[1] += pod.usage_millicores
                values[2] += pod.request_millicores
        return cls(target_utilization_percent, int(values[0]), float(values[1]), float(values[2]),
                   int(values[3]), float(values[4]), int(values[5]), float(values[6]))


@dataclass(frozen=True)
class SyncInput:
    """Everything one controller sync reads: the clock, spec.replicas of the target, the metrics."""

    now_seconds: int
    current_replicas: int
    metrics: Sequence[MetricSample]


@dataclass(frozen=True)
class SyncResult:
    """What one sync decided."""

    desired_replicas: int
    proposed_replicas: int | None
    """The metrics' proposal before stabilisation and limits (None: no usable metric / bounds rule)."""
    reason: str


def resource_replicas(current: int, sample: MetricSample, tolerance: float = DEFAULT_TOLERANCE,
                      up_tolerance: float | None = None) -> int | None:
    """Replicas proposed by one Resource Utilization metric (GetResourceReplicas); None = no metric.

    ``tolerance`` applies below the target (scale-down), ``up_tolerance`` above it (default: the same)."""
    up = tolerance if up_tolerance is None else up_tolerance

    def within(r: float) -> bool:
        return 1.0 - tolerance <= r <= 1.0 + up

    if sample.ready_pods == 0 or sample.ready_request_millicores <= 0:
        return None
    target = sample.target_utilization_percent
    ratio = int(sample.ready_usage_millicores * 100 // sample.ready_request_millicores) / target
    rebalance_unready = sample.unready_pods > 0 and ratio > 1.0
    if not rebalance_unready and sample.missing_pods == 0:
        if within(ratio):
            return current
        return math.ceil(ratio * sample.ready_pods)
    usage = sample.ready_usage_millicores
    request = sample.ready_request_millicores
    pods = sample.ready_pods
    if sample.missing_pods:
        if ratio < 1.0:  # scale-down: pods without a metric count as using 100 % of their request
            usage += sample.missing_request_millicores
            request += sample.missing_request_millicores
            pods += sample.missing_pods
        elif ratio > 1.0:  # scale-up: they count as 0 %
            request += sample.missing_request_millicores
            pods += sample.missing_pods
    if rebalance_unready:  # scale-up: not-ready pods count as 0 %
        request += sample.unready_request_millicores
        pods += sample.unready_pods
    new_ratio = int(usage * 100 // request) / target
    if within(new_ratio) or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current
    proposed = math.ceil(new_ratio * pods)
    if (new_ratio < 1.0 and proposed > current) or (new_ratio > 1.0 and proposed < current):
        return current
    return proposed


class HPAController:
    """The controller's per-HPA memory (recommendations, scale events) and its sync."""

    def __init__(self, *, tolerance: float = DEFAULT_TOLERANCE,
                 downscale_stabilization_seconds: int = DEFAULT_DOWNSCALE_STABILIZATION_SECONDS) -> None:
        self.tolerance = tolerance
        self.downscale_stabilization_seconds = downscale_stabilization_seconds
        self._recommendations: deque[tuple[int, int]] = deque()
        self._up_events: deque[tuple[int, int]] = deque()
        self._down_events: deque[tuple[int, int]] = deque()

    # -- the general entry (several metrics, pod groups) ------------------------------------------
    def sync(self, settings: HPASettings, inp: SyncInput) -> SyncResult:
        """One reconcile of the HPA: the replica count to set (== current when nothing changes)."""
        current = inp.current_replicas
        bounded = self._bounds_rule(settings, current)
        if bounded is not None:
            self._record(inp.now_seconds, current, bounded)
            return SyncResult(bounded, None, "outside minReplicas/maxReplicas")
        proposal: int | None = None
        invalid = 0
        down_tol, up_tol = self.tolerances(settings)
        for sample in inp.metrics:
            replicas = resource_replicas(current, sample, down_tol, up_tol)
            if replicas is None:
                invalid += 1
            elif proposal is None or replicas > proposal:
                proposal = replicas
        if proposal is None or (invalid and proposal < current):
            return SyncResult(current, None, "no usable metric" if proposal is None else
                              "a metric failed: no scale-down")
        desired = self.normalize(inp.now_seconds, settings, current, proposal)
        self._record(inp.now_seconds, current, desired)
        return SyncResult(desired, proposal, "metrics")

    def replay(self, settings: HPASettings, inputs: Iterable[SyncInput]) -> list[SyncResult]:
        """Sync once per input, in order (for comparing with the real controller on the same input)."""
        return [self.sync(settings, inp) for inp in inputs]

    # -- the lean entry the long simulations use (one CPU metric, identical pods) -----------------
    def step(self, now: int, settings: HPASettings, current: int, ready: int, unready: int,
             usage_per_ready_pod_millicores: float, request_millicores: float) -> int:
        """``sync`` for one CPU Utilization metric over identical pods, without building objects."""
        bounded = self._bounds_rule(settings, current)
        if bounded is not None:
            self._record(now, current, bounded)
            return bounded
        sample = MetricSample(settings.target_utilization_percent, ready,
                              usage_per_ready_pod_millicores * ready, request_millicores * ready,
                              unready, request_millicores * unready)
        proposal = resource_replicas(current, sample, *self.tolerances(settings))
        if proposal is None:
            return current
        desired = self.normalize(now, settings, current, proposal)
        self._record(now, current, desired)
        return desired

    # -- the shared steps -------------------------------------------------------------------------
    def tolerances(self, settings: HPASettings) -> tuple[float, float]:
        """(scale-down, scale-up) tolerance: the behaviour's where set, else the controller's flag."""
        down = settings.behavior.scale_down.tolerance
        up = settings.behavior.scale_up.tolerance
        return (self.tolerance if down is None else down, self.tolerance if up is None else up)

    @staticmethod
    def _bounds_rule(settings: HPASettings, current: int) -> int | None:
        if current > settings.max_replicas:
            return settings.max_replicas
        if current < settings.min_replicas:
            return settings.min_replicas
        return None

    def normalize(self, now: int, settings: HPASettings, current: int, proposal: int) -> int:
        """Stabilise the proposal, then apply the behaviour's rate limits and min/max."""
        up = settings.behavior.scale_up
        down = settings.behavior.scale_down
        up_window = up.stabilization_window_seconds or 0
        down_window = (self.downscale_stabilization_seconds if down.stabilization_window_seconds is None
                       else down.stabilization_window_seconds)
        recs = self._recommendations
        obsolete = now - max(up_window, down_window)
        while recs and recs[0][0] <= obsolete:
            recs.popleft()
        recommendation = proposal
        if proposal >= current:
            cutoff = now - up_window
            for t, r in recs:
                if t > cutoff and r < recommendation:
                    recommendation = r
        else:
            cutoff = now - down_window
            for t, r in recs:
                if t > cutoff and r > recommendation:
                    recommendation = r
        recs.append((now, proposal))
        if recommendation > current:
            if current >= settings.max_replicas:
                return settings.max_replicas
            limit = max(scale_up_limit(current, *self._changes(now, up.policies), up), current)
            return min(recommendation, settings.max_replicas, limit)
        if recommendation < current:
            if current <= settings.min_replicas:  # the result is max(…, min, limit ≤ current) = min
                return settings.min_replicas
            limit = min(scale_down_limit(current, *self._changes(now, down.policies), down), current)
            return max(recommendation, settings.min_replicas, limit)
        return recommendation

    def _changes(self, now: int, policies: Iterable[object]) -> tuple[dict[int, int], dict[int, int]]:
        added: dict[int, int] = {}
        removed: dict[int, int] = {}
        for policy in policies:
            period = policy.period_seconds  # type: ignore[attr-defined]
            cutoff = now - period
            added[period] = sum(c for t, c in self._up_events if t > cutoff)
            removed[period] = sum(c for t, c in self._down_events if t > cutoff)
        return added, removed

    def _record(self, now: int, previous: int, desired: int) -> None:
        """storeScaleEvent: remember the change for the rate limits (pruned after an hour)."""
        if desired == previous:
            return
        events = self._up_events if desired > previous else self._down_events
        events.append((now, abs(desired - previous)))
        horizon = now - 3600
        for queue in (self._up_events, self._down_events):
            while queue and queue[0][0] <= horizon:
                queue.popleft()
