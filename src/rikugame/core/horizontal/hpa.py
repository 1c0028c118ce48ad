"""HPA maths and settings as plain data (pure): what an autoscaling/v2 HPA is told, and its formulas.

Restated from the Kubernetes documentation (content/en/docs/tasks/run-application/horizontal-pod-autoscale.md)
and the controller source (kubernetes: pkg/controller/podautoscaler/horizontal.go, replica_calculator.go,
metrics/utilization.go; defaults in pkg/apis/autoscaling/v2/defaults.go), see
``../shared/reference/peers-and-anchors.md`` §1.2:

* utilization % = floor(Σ usage × 100 / Σ request) over the pods that have a metric (integer, as the
  controller computes it in milli-units);
* desired replicas = ceil(ratio × ready pods), ratio = utilization / target, unless |ratio − 1| ≤ tolerance
  (0.1), in which case the replica count is kept;
* ``behavior`` defaults: scale-up stabilization 0 s, policies 4 Pods / 15 s and 100 % / 15 s, selectPolicy
  Max; scale-down stabilization = the controller flag (300 s), policy 100 % / 15 s.

The simulator (``rikugame.sim.hpa``) drives these; the decision core uses them for co-tuning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PolicyType(StrEnum):
    """HPAScalingPolicy.type."""

    PODS = "Pods"
    PERCENT = "Percent"


class SelectPolicy(StrEnum):
    """HPAScalingRules.selectPolicy."""

    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


@dataclass(frozen=True)
class ScalingPolicy:
    """One HPAScalingPolicy: at most ``value`` pods (or percent) per ``period_seconds``."""

    type: PolicyType
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """HPAScalingRules of one direction. ``stabilization_window_seconds=None`` = the controller's default
    (0 s up; the ``--horizontal-pod-autoscaler-downscale-stabilization`` flag, 300 s, down).
    ``tolerance`` (autoscaling/v2 ``behavior.scaleUp|scaleDown.tolerance``, KEP-4951: alpha in Kubernetes
    1.33, beta — on by default — in 1.35): the controller rescales up only when utilization / target
    > 1 + the scale-up tolerance and down only when it is < 1 − the scale-down tolerance; None = the
    controller's flag (0.1)."""

    policies: tuple[ScalingPolicy, ...]
    stabilization_window_seconds: int | None = None
    select_policy: SelectPolicy = SelectPolicy.MAX
    tolerance: float | None = None


HPA_TOLERANCE = 0.1
"""The controller's tolerance (``--horizontal-pod-autoscaler-tolerance``, default 0.1): no rescale while
|utilization / target − 1| ≤ 0.1 (replica_calculator.go)."""
DEFAULT_SCALE_UP = ScalingRules(
    policies=(ScalingPolicy(PolicyType.PODS, 4, 15), ScalingPolicy(PolicyType.PERCENT, 100, 15)),
    stabilization_window_seconds=0)
"""autoscaling/v2 default scale-up rules (kubernetes: pkg/apis/autoscaling/v2/defaults.go)."""
DEFAULT_SCALE_DOWN = ScalingRules(policies=(ScalingPolicy(PolicyType.PERCENT, 100, 15),))
"""autoscaling/v2 default scale-down rules; the 300 s window comes from the controller flag."""


@dataclass(frozen=True)
class Behavior:
    """HPA ``spec.behavior``."""

    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN

    def to_api(self, tolerance: Callable[[float], Any] = float) -> dict[str, Any]:
        """``spec.behavior`` as autoscaling/v2 spells it (a window left to the controller's default is
        omitted); ``tolerance`` writes a tolerance (the API wants a quantity string, JSON exports a number)."""
        def rules(r: ScalingRules) -> dict[str, Any]:
            out: dict[str, Any] = {"selectPolicy": r.select_policy.value,
                                   "policies": [{"type": p.type.value, "value": p.value,
                                                 "periodSeconds": p.period_seconds} for p in r.policies]}
            if r.stabilization_window_seconds is not None:
                out["stabilizationWindowSeconds"] = r.stabilization_window_seconds
            if r.tolerance is not None:
                out["tolerance"] = tolerance(r.tolerance)
            return out
        return {"scaleUp": rules(self.scale_up), "scaleDown": rules(self.scale_down)}


TORTOISE_BEHAVIOR = Behavior(
    scale_up=ScalingRules(policies=(ScalingPolicy(PolicyType.PERCENT, 100, 60),)),
    scale_down=ScalingRules(policies=(ScalingPolicy(PolicyType.PERCENT, 2, 90),)),
)
"""The behaviour Tortoise gives the HPAs it creates (mercari/tortoise: pkg/hpa/service.go,
``defaultHPABehaviorValue``): up at most +100 % per 60 s, down at most 2 % per 90 s; windows defaulted."""


@dataclass(frozen=True)
class HPASettings:
    """What a horizontal decision sets on an HPA with one CPU Utilization metric."""

    target_utilization_percent: int
    min_replicas: int
    max_replicas: int
    behavior: Behavior = field(default_factory=Behavior)

    def __post_init__(self) -> None:
        if not self.target_utilization_percent >= 1:
            raise ValueError("target utilization must be at least 1 %")
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError("need 1 <= minReplicas <= maxReplicas")


def utilization_percent(usage_millicores: float, request_millicores: float) -> int:
    """The controller's integer utilization: floor(Σusage × 100 / Σrequest) (metrics/utilization.go)."""
    return int(usage_millicores * 100 // request_millicores)


def replicas_at_target(usage_per_pod_millicores: float, pods: int, request_millicores: float,
                       target_percent: int) -> int:
    """Replicas a steady HPA converges to: ceil(pods × utilization / target), ignoring tolerance."""
    util = usage_per_pod_millicores * 100.0 / request_millicores
    return max(1, math.ceil(pods * util / target_percent - 1e-9))


def scale_up_limit(current: int, added_in_period: dict[int, int], removed_in_period: dict[int, int],
                   rules: ScalingRules) -> int:
    """Most replicas allowed now by the scale-up policies (horizontal.go,
    calculateScaleUpLimitWithScalingRules). ``added_in_period[p]`` = pods added in the last ``p`` s."""
    if rules.select_policy is SelectPolicy.DISABLED:
        return current
    pick = min if rules.select_policy is SelectPolicy.MIN else max
    result: int | None = None
    for policy in rules.policies:
        start = current - added_in_period.get(policy.period_seconds, 0) + removed_in_period.get(
            policy.period_seconds, 0)
        if policy.type is PolicyType.PODS:
            proposed = start + policy.value
        else:
            proposed = math.ceil(start * (1 + policy.value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(current: int, added_in_period: dict[int, int], removed_in_period: dict[int, int],
                     rules: ScalingRules) -> int:
    """Fewest replicas allowed now by the scale-down policies (horizontal.go,
    calculateScaleDownLimitWithBehaviors; a Percent policy truncates toward zero)."""
    if rules.select_policy is SelectPolicy.DISABLED:
        return current
    pick = max if rules.select_policy is SelectPolicy.MIN else min
    result: int | None = None
    for policy in rules.policies:
        start = current - added_in_period.get(policy.period_seconds, 0) + removed_in_period.get(
            policy.period_seconds, 0)
        proposed = (start - policy.value if policy.type is PolicyType.PODS
                    else int(start * (1 - policy.value / 100)))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result
