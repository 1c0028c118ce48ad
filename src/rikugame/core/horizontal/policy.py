"""The horizontal part of a Tuner's policy (pydantic v2, camelCase on the wire, frozen, extra=forbid).

To be wired into ``TunerSpec`` as ``horizontal: HorizontalPolicy | None``. Defaults are Mercari
Tortoise's (mercari/tortoise: pkg/config/config.go; ``../shared/reference/peers-and-anchors.md`` §1.3):
initial target 70 %, target kept within 65–90 % and raised by at most 5 points per change, changed at most
once per 24 h; minReplicas within 3–10, maxReplicas at most 100; a week of history before anything changes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from rikugame.core.horizontal.hpa import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    Behavior,
    PolicyType,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True, use_enum_values=False)


class ScalingPolicySpec(_Model):
    """An HPAScalingPolicy."""

    type: Literal["Pods", "Percent"] = Field(description="Pods or Percent.")
    value: int = Field(ge=1, description="Pods or percent allowed per period.")
    period_seconds: int = Field(ge=1, le=1800, description="Length of the period.")


class ScalingRulesSpec(_Model):
    """HPAScalingRules of one direction."""

    stabilization_window_seconds: int | None = Field(
        None, ge=0, le=3600, description="Stabilization window (unset: the controller's default).")
    select_policy: Literal["Max", "Min", "Disabled"] = Field("Max", description="Max, Min or Disabled.")
    policies: list[ScalingPolicySpec] = Field(min_length=1, description="Rate-limit policies.")
    tolerance: float | None = Field(
        None, ge=0.0, le=1.0, description="Tolerance of this direction (Kubernetes >= 1.33 with the "
                                          "HPAConfigurableTolerance feature gate; unset: the controller's 0.1).")

    def to_rules(self) -> ScalingRules:
        """The plain-data form the HPA maths use."""
        return ScalingRules(
            policies=tuple(ScalingPolicy(PolicyType(p.type), p.value, p.period_seconds)
                           for p in self.policies),
            stabilization_window_seconds=self.stabilization_window_seconds,
            select_policy=SelectPolicy(self.select_policy), tolerance=self.tolerance)


class BehaviorSpec(_Model):
    """HPA ``spec.behavior`` to set (a direction left out keeps the autoscaling/v2 default)."""

    scale_up: ScalingRulesSpec | None = Field(None, description="Scale-up rules.")
    scale_down: ScalingRulesSpec | None = Field(None, description="Scale-down rules.")

    def to_behavior(self) -> Behavior:
        """The plain-data form the HPA maths use."""
        return Behavior(scale_up=self.scale_up.to_rules() if self.scale_up else DEFAULT_SCALE_UP,
                        scale_down=self.scale_down.to_rules() if self.scale_down else DEFAULT_SCALE_DOWN)


class HorizontalPolicy(_Model):
    """How rikugame tunes the HPA of a workload: which recommender, initial values, and guardrails."""

    recommender: str = Field("rikugame", min_length=1,
                             description="Horizontal recommender: static, tortoise or rikugame.")
    target_utilization_percent: int = Field(70, ge=1, le=100,
                                            description="Initial CPU target (the fixed one for static).")
    min_replicas: int = Field(3, ge=1, description="Initial minReplicas (the fixed one for static).")
    max_replicas: int = Field(100, ge=1, description="Initial maxReplicas (the fixed one for static).")
    min_target_utilization_percent: int = Field(65, ge=1, le=100, description="Lowest target set.")
    max_target_utilization_percent: int = Field(90, ge=1, le=100, description="Highest target set.")
    max_target_increase_percent: int = Field(5, ge=1, le=100,
                                             description="Largest rise of the target in one change.")
    target_update_interval_seconds: int = Field(86400, ge=0,
                                                description="Least time between two target evaluations.")
    min_replicas_floor: int = Field(3, ge=1, description="Smallest minReplicas set.")
    min_replicas_cap: int = Field(10, ge=1, description="Largest minReplicas set.")
    max_replicas_floor: int = Field(12, ge=1, description="Smallest maxReplicas set.")
    max_replicas_cap: int = Field(100, ge=1, description="Largest maxReplicas set.")
    gathering_seconds: int = Field(7 * 86400, ge=0,
                                   description="History needed before anything changes (a week: every "
                                               "hour-of-week slot seen once).")
    overload_budget_ratio: float = Field(0.02, gt=0.0, lt=0.5,
                                         description="Fraction of minutes rikugame accepts above the "
                                                     "request when it sizes its replica floor.")
    max_writes_per_hour: float | None = Field(
        2.0, gt=0.0, le=3600.0,
        description="HPA write budget: changes rikugame makes to the HPA, per hour on average (a token bucket "
                    "holding at most max(1, this) writes). Raising minReplicas or lowering the target may spend "
                    "the last token; other changes wait for a spare one. 60 or more lets every once-a-minute "
                    "decision write (no budget).")
    hpa_tolerance: bool = Field(
        True, description="Whether rikugame may set the HPA's per-direction tolerance (behavior.scaleUp/scaleDown."
                          "tolerance: Kubernetes >= 1.35, or 1.33-1.34 with the HPAConfigurableTolerance feature "
                          "gate). false: the controller's 0.1 is assumed.")
    behavior: BehaviorSpec | None = Field(None, description="HPA behaviour to set (unset: the "
                                                            "recommender's own).")

    @model_validator(mode="after")
    def _ordered(self) -> HorizontalPolicy:
        if self.min_target_utilization_percent > self.max_target_utilization_percent:
            raise ValueError("minTargetUtilizationPercent must not exceed maxTargetUtilizationPercent")
        if self.min_replicas_floor > self.min_replicas_cap:
            raise ValueError("minReplicasFloor must not exceed minReplicasCap")
        if self.max_replicas_floor > self.max_replicas_cap:
            raise ValueError("maxReplicasFloor must not exceed maxReplicasCap")
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        return self
