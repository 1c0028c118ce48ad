"""A request-rate service model scaled by the simulated HPA (the ``--traffic`` scenario).

Model (issue 5; every parameter is a field of ``ServiceModel``):

* demand (cores) of a minute = requests in that minute, scaled to ``load_scale`` times the users
  (``loadscale``: N aggregated populations by default, plain × N with ``scale_mode="copy"``),
  × CPU cost per request / 60 s;
  a NaN minute (no log coverage) carries the last known load forward and is not scored;
* every ready pod serves an equal share: per-ready-pod usage = demand / ready pods + base cost;
* the container CPU request is 1 core; a new pod is ready ``ready_delay_seconds`` after creation and
  carries no load before; a scale-down removes pods at once (not-ready pods first, as the ReplicaSet
  controller does);
* the HPA (``rikugame.sim.hpa``) syncs every 15 s on the CPU utilization the pods had over the last
  15 s; the horizontal policy (``HorizontalDriver``) is consulted every ``decide_interval_seconds``
  and may change target, min, max and behaviour.

Per minute the run records replicas (all pods, time-weighted), ready pods and per-ready-pod usage
(minute means), from which ``scoring`` derives replica-hours, overload minutes and the rest.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rikugame.core.histograms import FloatArray, IntArray
from rikugame.core.horizontal.hpa import HPASettings
from rikugame.sim.hpa import SYNC_PERIOD_SECONDS, HPAController
from rikugame.sim.loadscale import ScaleMode, scale_load

MINUTE = 60
STEPS_PER_MINUTE = MINUTE // SYNC_PERIOD_SECONDS


@dataclass(frozen=True)
class ServiceModel:
    """Parameters of the service model (defaults: issue 5)."""

    load_scale: float = 1000.0
    scale_mode: ScaleMode = "aggregate"
    """How ``load_scale`` N makes a bigger service (``loadscale``): ``aggregate`` = N independent user
    populations (noise grows like √N, the default), ``copy`` = every minute × N (a burst stress test)."""
    cpu_seconds_per_request: float = 0.010
    base_cores_per_pod: float = 0.05
    request_cores: float = 1.0
    ready_delay_seconds: int = 60
    warmup_seconds: int = 7 * 86400
    overload_ratio: float = 1.0
    severe_ratio: float = 1.5
    decide_interval_seconds: int = 60
    lagged_metric: bool = False
    """True: the HPA reads the usage of the previous 15 s (metrics-server lag) instead of the current
    minute's; +4–12 % overload minutes for the static rows at ×1000."""


@dataclass(frozen=True)
class TrafficTrace:
    """Requests per minute on a regular 1-minute grid (NaN = not covered)."""

    timestamps: IntArray
    requests: FloatArray
    source: str = ""

    def demand_cores(self, model: ServiceModel) -> tuple[FloatArray, np.ndarray]:
        """Demand in cores per minute (NaN carried forward) and the mask of covered minutes."""
        scaled = scale_load(self.requests, model.load_scale, model.scale_mode)
        covered = np.isfinite(scaled)
        idx = np.where(covered, np.arange(len(scaled)), 0)
        np.maximum.accumulate(idx, out=idx)
        filled = np.where(covered[idx], scaled[idx], 0.0)
        demand: FloatArray = filled * model.cpu_seconds_per_request / MINUTE
        return demand, covered


class HorizontalDriver(Protocol):
    """A horizontal policy as the simulated cluster sees it (adapter around the decision core)."""

    name: str

    def initial(self, now: int) -> HPASettings:
        """HPA settings at the start of the run."""

    def observe_minute(self, now: int, replicas: int, ready_pods: int, usage_per_pod_millicores: float,
                       demand_cores: float) -> None:
        """At the first sync of minute ``now``: replicas, ready pods and CPU usage per ready pod as the
        HPA reads them (and the load itself, for policies allowed to see it, e.g. an oracle)."""

    def decide(self, now: int, replicas: int) -> HPASettings | None:
        """New HPA settings to apply at ``now`` (None = keep)."""


@dataclass
class Run:
    """Per-minute results of one policy on one trace, and the HPA settings it applied."""

    policy: str
    model: ServiceModel
    timestamps: IntArray
    scored: np.ndarray
    replicas: FloatArray
    ready_pods: FloatArray
    peak_replicas: FloatArray
    usage_per_pod_cores: FloatArray
    demand_cores: FloatArray
    scaling_events: IntArray
    settings_changes: list[tuple[int, HPASettings]] = field(default_factory=list)


def simulate(trace: TrafficTrace, driver: HorizontalDriver, model: ServiceModel) -> Run:
    """Replay the trace minute by minute, with four HPA syncs per minute."""
    demand, covered = trace.demand_cores(model)
    n = len(demand)
    t0 = int(trace.timestamps[0])
    scored = covered & (trace.timestamps - t0 >= model.warmup_seconds)
    request_m = model.request_cores * 1000.0
    base_m = model.base_cores_per_pod * 1000.0
    ready_delay = model.ready_delay_seconds
    lagged_metric = model.lagged_metric
    decide_every = max(1, model.decide_interval_seconds // SYNC_PERIOD_SECONDS)
    out_replicas = np.zeros(n)
    out_ready = np.zeros(n)
    out_peak = np.zeros(n)
    out_usage = np.zeros(n)
    out_events = np.zeros(n, dtype=np.int64)
    hpa = HPAController()
    settings = driver.initial(t0)
    changes: list[tuple[int, HPASettings]] = [(t0, settings)]
    # Pods: ``ready`` serve load; ``pending`` = (ready time, count) of pods still starting, oldest first.
    first_demand_m = float(demand[0]) * 1000.0
    replicas = max(settings.min_replicas, min(settings.max_replicas, math.ceil(
        (first_demand_m / (settings.target_utilization_percent / 100 * request_m - base_m))
        if settings.target_utilization_percent / 100 * request_m > base_m else settings.min_replicas)))
    ready = replicas
    pending: deque[list[int]] = deque()
    last_usage_m = first_demand_m / ready + base_m
    metric_ready = ready  # pods that served (and so have a metric for) the last 15 s
    step = 0
    for minute in range(n):
        demand_m = float(demand[minute]) * 1000.0
        t_minute = t0 + minute * MINUTE
        sum_replicas = 0
        sum_ready = 0
        sum_usage = 0.0
        events = 0
        peak = replicas
        for sub in range(STEPS_PER_MINUTE):
            now = t_minute + sub * SYNC_PERIOD_SECONDS
            while pending and pending[0][0] <= now:
                ready += pending.popleft()[1]
            if sub == 0:
                # The policy reads the metric the HPA reads at this sync (this minute's load over the
                # ready pods) and its change is picked up by this sync (in a cluster: ≤ 15 s later).
                driver.observe_minute(now, replicas, ready, demand_m / ready + base_m if ready else 0.0,
                                      demand_m / 1000.0)
            if step % decide_every == 0 and step:
                new = driver.decide(now, replicas)
                if new is not None and new != settings:
                    settings = new
                    changes.append((now, new))
            step += 1
            if lagged_metric:
                # The usage of the last 15 s; pods that became ready since have no metric yet and
                # count as not ready (groupPods: metric taken before readiness).
                desired = hpa.step(now, settings, replicas, metric_ready, replicas - metric_ready,
                                   last_usage_m, request_m)
            else:  # the default: this minute's load over the pods ready now (the reference's model)
                desired = hpa.step(now, settings, replicas, ready, replicas - ready,
                                   demand_m / ready + base_m if ready else 0.0, request_m)
            if desired != replicas:
                events += 1
                if desired > replicas:
                    pending.append([now + ready_delay, desired - replicas])
                else:
                    drop = replicas - desired
                    while drop and pending:  # not-ready pods go first, newest first
                        take = min(drop, pending[-1][1])
                        pending[-1][1] -= take
                        drop -= take
                        if pending[-1][1] == 0:
                            pending.pop()
                    ready -= drop
                replicas = desired
            usage_m = demand_m / ready + base_m if ready > 0 else math.inf
            if ready > 0:
                last_usage_m = usage_m
            metric_ready = ready
            sum_replicas += replicas
            if replicas > peak:
                peak = replicas
            sum_ready += ready
            sum_usage += usage_m
        out_replicas[minute] = sum_replicas / STEPS_PER_MINUTE
        out_ready[minute] = sum_ready / STEPS_PER_MINUTE
        usage_cores = sum_usage / STEPS_PER_MINUTE / 1000.0
        out_usage[minute] = usage_cores
        out_events[minute] = events
        out_peak[minute] = peak

    return Run(policy=driver.name, model=model, timestamps=trace.timestamps, scored=scored,
               replicas=out_replicas, ready_pods=out_ready, peak_replicas=out_peak,
               usage_per_pod_cores=out_usage,
               demand_cores=demand, scaling_events=out_events, settings_changes=changes)
