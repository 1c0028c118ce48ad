"""The Tuner policy model (pydantic v2): the single source of truth for the Tuner spec.

Declarative on purpose: the CRD's OpenAPI schema is generated from these models. Field names are
camelCase on the wire (``scaleDownMaxRatio``) and snake_case in Python. Quantities are Kubernetes
strings here and integers (millicores, bytes) everywhere else. Bounds and the OOM bump follow Mercari
Tortoise (pkg/config/config.go; peers-and-anchors.md §1.3): requests bounded to 50m–10 cores and
50Mi–10Gi, OOM bump max(+20 %, +100Mi). The scale-down rate limits default to what the chosen recommender
was backtested with (``presets``): 6 h / 30 % for ``rikugame`` (memory: once a day, to the estimate),
Tortoise's 1 h / 20 % for ``tortoise``.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from rikugame.core import presets, quantities
from rikugame.core.horizontal.policy import HorizontalPolicy
from rikugame.core.recommender_settings import RecommenderSettings


class UpdateMode(enum.StrEnum):
    """What a Tuner may do to its workload."""

    OFF = "Off"
    """Observe and recommend only (dry run). The default for new Tuners."""
    AUTO = "Auto"
    """Apply decisions."""
    EMERGENCY = "Emergency"
    """Scale out to a safe floor and freeze every shrink."""


class ResourceMode(enum.StrEnum):
    """How one resource of a container is tuned."""

    VERTICAL = "Vertical"
    HORIZONTAL = "Horizontal"
    OFF = "Off"


class RollingRestart(enum.StrEnum):
    """When pods that cannot be resized in place may be replaced by a rolling restart instead."""

    NEVER = "Never"
    """Never: the refusal is reported and the pods keep their resources."""
    IF_REPLICATED = "IfReplicated"
    """Only when the workload has at least two ready pods (one pod at a time stays serving). The default."""
    ALWAYS = "Always"
    """Also a single-pod workload (a short outage while its pod is replaced)."""


class LimitPolicy(enum.StrEnum):
    """How limits follow requests."""

    KEEP = "Keep"
    """Leave limits as they are."""
    EQUAL_TO_REQUEST = "EqualToRequest"
    """Limit = request (memory default: a usage over the request is an OOM kill)."""
    PROPORTIONAL = "Proportional"
    """Limit = request × limitRatio."""
    REMOVE = "Remove"
    """No limit (CPU default: avoids CFS throttling)."""


_QUANTITY = re.compile(quantities.QUANTITY_PATTERN)
QUANTITY_MAX_CHARS = 32
"""Longest quantity text (bounds the cost of the CRD's CEL quantity comparisons)."""
MAX_CONTAINERS = 32
"""Per-container overrides a Tuner may list (bounds the CRD's validation cost)."""
_QUANTITY_SCHEMA = {"x-kubernetes-int-or-string": True, "pattern": quantities.QUANTITY_PATTERN, "minimum": 0}


def _int_as_text(value: object) -> object:
    """A quantity may be written as a plain integer (``maxCpu: 2``), as Kubernetes allows (int-or-string)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _quantity_text(value: str) -> None:
    if not _QUANTITY.fullmatch(value):
        raise ValueError(f"not a non-negative Kubernetes quantity: {value!r}")


def _cpu_quantity(value: str) -> str:
    _quantity_text(value)
    quantities.cpu_millicores(value)
    return value


def _memory_quantity(value: str) -> str:
    _quantity_text(value)
    quantities.memory_bytes(value)
    return value


CPUQuantity = Annotated[str, BeforeValidator(_int_as_text), AfterValidator(_cpu_quantity),
                        Field(max_length=QUANTITY_MAX_CHARS, json_schema_extra=_QUANTITY_SCHEMA)]
MemoryQuantity = Annotated[str, BeforeValidator(_int_as_text), AfterValidator(_memory_quantity),
                           Field(max_length=QUANTITY_MAX_CHARS, json_schema_extra=_QUANTITY_SCHEMA)]


def list_map(key: str) -> dict[str, Any]:
    """Schema extras of a list whose items are keyed by ``key`` (a Kubernetes list-map: server-side apply
    merges it by key and the API server refuses a repeated key)."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key]}


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True, use_enum_values=False)


class ResourceBounds(_Model):
    """Lower and upper bounds for requests rikugame sets."""

    min_cpu: CPUQuantity = Field("50m", description="Smallest CPU request rikugame sets.")
    max_cpu: CPUQuantity = Field("10", description="Largest CPU request rikugame sets.")
    min_memory: MemoryQuantity = Field("50Mi", description="Smallest memory request rikugame sets.")
    max_memory: MemoryQuantity = Field("10Gi", description="Largest memory request rikugame sets.")

    @model_validator(mode="after")
    def _ordered(self) -> ResourceBounds:
        if quantities.cpu_millicores(self.min_cpu) > quantities.cpu_millicores(self.max_cpu):
            raise ValueError("minCpu must not exceed maxCpu")
        if quantities.memory_bytes(self.min_memory) > quantities.memory_bytes(self.max_memory):
            raise ValueError("minMemory must not exceed maxMemory")
        return self

    @property
    def min_cpu_millicores(self) -> int:
        """minCpu in millicores."""
        return quantities.cpu_millicores(self.min_cpu)

    @property
    def max_cpu_millicores(self) -> int:
        """maxCpu in millicores."""
        return quantities.cpu_millicores(self.max_cpu)

    @property
    def min_memory_bytes(self) -> int:
        """minMemory in bytes."""
        return quantities.memory_bytes(self.min_memory)

    @property
    def max_memory_bytes(self) -> int:
        """maxMemory in bytes."""
        return quantities.memory_bytes(self.max_memory)


class VerticalGuardrails(_Model):
    """Safety rules applied after estimation, in this order: hold on missing data, OOM bump,
    deadband, scale-down cool-down, scale-down step limit, bounds."""

    scale_down_max_ratio: float | None = Field(
        None, ge=0.0, le=1.0, description="Largest fraction a request may drop in one step (unset: the "
                                          "recommender's backtested default, 0.3 for rikugame).")
    scale_down_interval_seconds: int | None = Field(
        None, ge=0, description="Least time between two decreases of a request (unset: the recommender's "
                                "backtested default, 6 h for rikugame).")
    memory_scale_down_max_ratio: float | None = Field(
        None, ge=0.0, le=1.0, description="Largest fraction a memory request may drop in one step (unset: the "
                                          "recommender's backtested default, 1.0 for rikugame; else "
                                          "scaleDownMaxRatio).")
    memory_scale_down_interval_seconds: int | None = Field(
        None, ge=0, description="Least time between two decreases of a memory request (unset: the "
                                "recommender's backtested default, 24 h for rikugame; else "
                                "scaleDownIntervalSeconds).")
    decision_interval_seconds: int = Field(
        3600, ge=60, le=86400, description="How often the model moves on (the ensemble re-chooses, windows "
                                           "roll): decisions read in between change nothing.")
    min_change_ratio: float = Field(0.0, ge=0.0, le=1.0,
                                    description="Decreases smaller than this fraction are not made.")
    oom_bump_ratio: float = Field(0.2, ge=0.0, le=10.0,
                                  description="After an OOM, memory rises to at least peak × (1 + ratio).")
    oom_min_bump: MemoryQuantity = Field("100Mi", description="… and to at least peak + this.")
    stale_after_seconds: int = Field(1800, ge=60,
                                     description="Without a sample this recent, nothing shrinks.")
    rolling_restart: RollingRestart = Field(
        RollingRestart.IF_REPLICATED,
        description="Where a pod cannot be resized in place (a RestartContainer resize policy, or the API "
                    "refuses the resize): Never, IfReplicated (at least 2 ready pods) or Always, a rolling "
                    "restart whose new pods get the decided resources from the webhook.")

    @property
    def oom_min_bump_bytes(self) -> int:
        """oomMinBump in bytes."""
        return quantities.memory_bytes(self.oom_min_bump)

    def resolved(self, recommender: str) -> VerticalGuardrails:
        """These guardrails with every unset field taken from ``recommender``'s backtested preset; memory's
        rate limits, when neither set nor preset, are the (resolved) CPU ones."""
        preset = presets.vertical_guardrails(recommender)
        update = {name: value for name, value in preset.items() if getattr(self, name) is None}
        done = self.model_copy(update=update)
        memory = {"memory_scale_down_max_ratio": done.scale_down_max_ratio,
                  "memory_scale_down_interval_seconds": done.scale_down_interval_seconds}
        return done.model_copy(update={k: v for k, v in memory.items() if getattr(done, k) is None})

    @property
    def max_step_ratio(self) -> float:
        """scaleDownMaxRatio (call on :meth:`resolved` guardrails)."""
        if self.scale_down_max_ratio is None:
            raise ValueError("guardrails not resolved: scaleDownMaxRatio unset")
        return self.scale_down_max_ratio

    @property
    def memory_max_step_ratio(self) -> float:
        """memoryScaleDownMaxRatio (call on :meth:`resolved` guardrails)."""
        if self.memory_scale_down_max_ratio is None:
            raise ValueError("guardrails not resolved: memoryScaleDownMaxRatio unset")
        return self.memory_scale_down_max_ratio

    @property
    def memory_decrease_interval_seconds(self) -> int:
        """memoryScaleDownIntervalSeconds (call on :meth:`resolved` guardrails)."""
        if self.memory_scale_down_interval_seconds is None:
            raise ValueError("guardrails not resolved: memoryScaleDownIntervalSeconds unset")
        return self.memory_scale_down_interval_seconds

    @property
    def decrease_interval_seconds(self) -> int:
        """scaleDownIntervalSeconds (call on :meth:`resolved` guardrails)."""
        if self.scale_down_interval_seconds is None:
            raise ValueError("guardrails not resolved: scaleDownIntervalSeconds unset")
        return self.scale_down_interval_seconds


class Limits(_Model):
    """How limits are set from requests."""

    cpu: LimitPolicy = Field(LimitPolicy.KEEP, description="CPU limit policy.")
    memory: LimitPolicy = Field(LimitPolicy.EQUAL_TO_REQUEST, description="Memory limit policy.")
    cpu_limit_ratio: float = Field(2.0, ge=1.0, description="Limit/request for Proportional CPU limits.")
    memory_limit_ratio: float = Field(1.0, ge=1.0,
                                      description="Limit/request for Proportional memory limits.")


class ContainerPolicy(_Model):
    """Per-container overrides."""

    name: str = Field(min_length=1, max_length=63, description="Container name.")
    cpu: ResourceMode = Field(ResourceMode.VERTICAL, description="How CPU is tuned.")
    memory: ResourceMode = Field(ResourceMode.VERTICAL, description="How memory is tuned.")
    bounds: ResourceBounds | None = Field(None, description="Bounds for this container only.")


class TargetRef(_Model):
    """The workload a Tuner tunes."""

    api_version: str = Field("apps/v1", min_length=1, max_length=253, description="API version of the workload.")
    kind: str = Field("Deployment", min_length=1, max_length=63, description="Kind: Deployment, StatefulSet, …")
    name: str = Field(min_length=1, max_length=253, description="Name of the workload in the Tuner's namespace.")


class TunerSpec(_Model):
    """The spec of a Tuner: which workload, how, and within which limits."""

    target_ref: TargetRef
    mode: UpdateMode = Field(UpdateMode.OFF, description="Off (dry run), Auto, or Emergency.")
    recommender: str = Field("rikugame", min_length=1, max_length=63, description="Recommender name.")
    recommender_settings: RecommenderSettings | None = Field(
        None, description="Knobs of the recommender (``name`` must equal ``recommender``); unset: its "
                          "backtested defaults.")
    containers: list[ContainerPolicy] = Field(default_factory=list, max_length=MAX_CONTAINERS,
                                              description="Per-container overrides.",
                                              json_schema_extra=list_map("name"))
    bounds: ResourceBounds = Field(default_factory=ResourceBounds)
    vertical: VerticalGuardrails = Field(default_factory=VerticalGuardrails)
    limits: Limits = Field(default_factory=Limits)
    horizontal: HorizontalPolicy | None = Field(
        None, description="HPA tuning (target, min/max replicas, behaviour); absent: the HPA is left alone.")

    @model_validator(mode="after")
    def _settings_match(self) -> TunerSpec:
        if self.recommender_settings is not None and self.recommender_settings.name != self.recommender:
            raise ValueError(f"recommenderSettings.name {self.recommender_settings.name!r} must equal recommender "
                             f"{self.recommender!r}")
        return self

    @model_validator(mode="after")
    def _no_horizontal_for_daemonsets(self) -> TunerSpec:
        if self.horizontal is not None and self.target_ref.kind == "DaemonSet":
            raise ValueError("horizontal must be unset when targetRef.kind is DaemonSet (a DaemonSet has no "
                             "replicas to scale)")
        return self

    @model_validator(mode="after")
    def _container_names_unique(self) -> TunerSpec:
        names = [c.name for c in self.containers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"containers: name repeats: {', '.join(repeated)}")
        return self

    def recommender_kwargs(self) -> dict[str, Any]:
        """The recommender's keyword arguments from ``recommenderSettings`` (empty when unset)."""
        return self.recommender_settings.to_kwargs() if self.recommender_settings is not None else {}

    def guardrails(self) -> VerticalGuardrails:
        """The vertical guardrails in force: the spec's, unset fields from the recommender's preset."""
        return self.vertical.resolved(self.recommender)

    def container_policy(self, name: str) -> ContainerPolicy:
        """The overrides for container ``name`` (defaults when none are given)."""
        for container in self.containers:
            if container.name == name:
                return container
        return ContainerPolicy(name=name)

    def bounds_for(self, name: str) -> ResourceBounds:
        """Bounds of container ``name``."""
        return self.container_policy(name).bounds or self.bounds
