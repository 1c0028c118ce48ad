"""The ``--traffic`` scenario: horizontal policies on a request-rate trace, and their scores.

Each policy runs through the decision core exactly as the operator would (``HorizontalTuning``: observe each
minute; advance, decide, apply at each decision step); this module only adapts it to the simulated cluster
of ``service`` and scores the per-minute results (days after the warm-up, covered minutes only):

* replica-hours: Σ replicas (all pods, ready or not) × 1 min / 60;
* overload minutes: minute-mean CPU usage per ready pod > 1.0 × request; severe: > 1.5 × request;
* scaling events per day: HPA rescales (replica count changes) per scored day;
* peak replicas; mean utilisation = Σ usage / Σ requested CPU of all pods.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from rikugame.core.horizontal import HorizontalPolicy, HorizontalTuning, HPASettings
from rikugame.sim.service import Run, ServiceModel, TrafficTrace


class CoreDriver:
    """A horizontal policy of the decision core, driven minute by minute by the simulated cluster.

    With ``restart_every_seconds`` the tuning is checkpointed to JSON bytes and rebuilt from them at every
    multiple of that much simulated time since the start (an operator restart); ``checkpoint_bytes`` lists
    the size of each checkpoint."""

    def __init__(self, name: str, policy: HorizontalPolicy, model: ServiceModel,
                 restart_every_seconds: int | None = None) -> None:
        if restart_every_seconds is not None and restart_every_seconds <= 0:
            raise ValueError("restart_every_seconds must be positive")
        self.name = name
        self.policy = policy
        self.request_millicores = round(model.request_cores * 1000)
        self.tuning = HorizontalTuning.start(policy)
        self.restart_every_seconds = restart_every_seconds
        self.checkpoint_bytes: list[int] = []
        self._next_restart: int | None = None

    def initial(self, now: int) -> HPASettings:
        if self.restart_every_seconds is not None:
            self._next_restart = now + self.restart_every_seconds
        return self.tuning.current

    def observe_minute(self, now: int, replicas: int, ready_pods: int, usage_per_pod_millicores: float,
                       demand_cores: float) -> None:
        self._restart_if_due(now)
        self.tuning.observe(now, replicas, ready_pods, usage_per_pod_millicores / 1000.0)

    def decide(self, now: int, replicas: int) -> HPASettings | None:
        self._restart_if_due(now)
        self.tuning.advance(now)
        decision = self.tuning.decide(now, replicas=replicas, request_millicores=self.request_millicores)
        self.tuning.apply(decision)
        return decision.settings if decision.changed() else None

    def _restart_if_due(self, now: int) -> None:
        """Before anything happens at or after the next multiple: checkpoint to bytes, rebuild from them."""
        if self._next_restart is None or now < self._next_restart:
            return
        assert self.restart_every_seconds is not None
        data = json.dumps(self.tuning.to_checkpoint(), separators=(",", ":")).encode()
        self.checkpoint_bytes.append(len(data))
        self.tuning = HorizontalTuning.from_checkpoint(self.policy, json.loads(data))
        while self._next_restart <= now:
            self._next_restart += self.restart_every_seconds


@dataclass(frozen=True)
class Scores:
    """Scores of one policy at one load scale."""

    policy: str
    load_scale: float
    replica_hours: float
    overload_minutes: int
    severe_minutes: int
    scaling_events_per_day: float
    peak_replicas: int
    mean_utilization: float
    settings_changes: int
    scored_minutes: int
    decided_hours: float = 0.0
    """Hours from the end of the warm-up to the end of the trace, uncovered minutes included (the policy
    decides through them too): the span ``settings_changes`` are counted over."""

    @property
    def writes_per_hour(self) -> float:
        """HPA settings changes per hour after the warm-up (the write budget's unit)."""
        return self.settings_changes / self.decided_hours if self.decided_hours > 0 else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "replica_hours": round(self.replica_hours, 1),
            "overload_minutes": self.overload_minutes,
            "severe_minutes": self.severe_minutes,
            "scaling_events_per_day": round(self.scaling_events_per_day, 2),
            "peak_replicas": self.peak_replicas,
            "mean_utilization": round(self.mean_utilization, 4),
            "hpa_settings_changes": self.settings_changes,
            "hpa_writes_per_hour": round(self.writes_per_hour, 3),
            "scored_minutes": self.scored_minutes,
        }


def score(run: Run) -> Scores:
    """Scores of a run over its scored minutes."""
    s = run.scored
    m = run.model
    minutes = int(s.sum())
    usage = run.usage_per_pod_cores[s]
    used = (run.demand_cores[s] + m.base_cores_per_pod * run.ready_pods[s]).sum()
    requested = (run.replicas[s] * m.request_cores).sum()
    days = minutes / 1440
    return Scores(
        policy=run.policy, load_scale=m.load_scale,
        replica_hours=float(run.replicas[s].sum() / 60),
        overload_minutes=int((usage > m.overload_ratio * m.request_cores).sum()),
        severe_minutes=int((usage > m.severe_ratio * m.request_cores).sum()),
        scaling_events_per_day=float(run.scaling_events[s].sum() / days) if days else 0.0,
        peak_replicas=math.ceil(run.peak_replicas[s].max()) if minutes else 0,
        mean_utilization=float(used / requested) if requested else 0.0,
        settings_changes=sum(1 for t, _ in run.settings_changes[1:]
                             if t >= int(run.timestamps[0]) + m.warmup_seconds),
        scored_minutes=minutes,
        decided_hours=max(0.0, (int(run.timestamps[-1]) + 60 - int(run.timestamps[0]) - m.warmup_seconds) / 3600),
    )


def oracle_scores(trace: TrafficTrace, model: ServiceModel) -> Scores:
    """A lower bound: an autoscaler that knows the next minute's load, starts pods a minute ahead and
    removes them at once, never overloads (replicas = max of this and next minute's need)."""
    demand, covered = trace.demand_cores(model)
    need = np.maximum(np.ceil(demand / (model.overload_ratio * model.request_cores - model.base_cores_per_pod)
                              - 1e-9), 1)
    replicas = np.maximum(need, np.append(need[1:], need[-1]))
    s = covered & (trace.timestamps - trace.timestamps[0] >= model.warmup_seconds)
    used = (demand[s] + model.base_cores_per_pod * need[s]).sum()
    changes = np.count_nonzero(np.diff(replicas)[s[1:]])
    days = s.sum() / 1440
    return Scores("oracle", model.load_scale, float(replicas[s].sum() / 60), 0, 0,
                  float(changes / days) if days else 0.0, int(replicas[s].max()),
                  float(used / (replicas[s].sum() * model.request_cores)), 0, int(s.sum()))
