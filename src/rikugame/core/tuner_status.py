"""The Tuner status model (pydantic v2; camelCase on the wire) and the pure step from a decision to it.

The CRD's status schema is generated from :class:`TunerStatus`, as the spec's is from ``TunerSpec``. The
status says what the core recommends and decides for every container and for the HPA, and why; which
conditions hold; what was last done (from → to, why); and the in-place resizes still in flight.

Quantities are Kubernetes strings here (``250m``, ``512Mi``), integers everywhere else; times are RFC 3339
strings that the caller passes in (the core reads no clock).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from rikugame.core import quantities
from rikugame.core.decisions import Reason
from rikugame.core.horizontal.hpa import HPASettings
from rikugame.core.policy import UpdateMode, list_map
from rikugame.core.workload import ContainerDecision, ContainerResources, WorkloadDecision

MAX_LAST_ACTIONS = 10
"""How many actions the status keeps (oldest dropped first)."""
MAX_LAST_ACTION_CHARS = 200
"""Length of ``lastAction`` (a printer column): longer texts are cut with an ellipsis."""

RFC3339_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
"""Kubernetes' rule for a condition reason (metav1.Condition)."""

Time = Annotated[str, Field(pattern=RFC3339_PATTERN, description="RFC 3339 time, e.g. 2026-12-01T21:00:00Z.")]
Quantity = Annotated[str, Field(pattern=quantities.QUANTITY_PATTERN, description="Kubernetes quantity.")]


class Phase(enum.StrEnum):
    """Where a Tuner is in its life."""

    GATHERING = "Gathering"
    """Not enough history yet: requests are kept."""
    RECOMMENDING = "Recommending"
    """Mode Off: recommendations are published, nothing is changed."""
    WORKING = "Working"
    """Mode Auto: decisions are applied."""
    EMERGENCY = "Emergency"
    """Scaled out to a safe floor, every shrink frozen (mode Emergency, or metrics missing)."""
    BACK_TO_NORMAL = "BackToNormal"
    """Leaving an emergency gradually."""
    ERROR = "Error"
    """The Tuner cannot be acted on (see its conditions and lastAction)."""


class ConditionStatus(enum.StrEnum):
    """A condition's status, as Kubernetes spells it."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ResizeState(enum.StrEnum):
    """Where an in-place resize of one pod stands (from the pod's PodResizePending / PodResizeInProgress)."""

    PENDING = "Pending"
    DEFERRED = "Deferred"
    INFEASIBLE = "Infeasible"
    IN_PROGRESS = "InProgress"
    DONE = "Done"
    ERROR = "Error"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True, use_enum_values=False)


class Condition(_Model):
    """One Kubernetes condition."""

    type: str = Field(min_length=1, max_length=316, description="Condition type, e.g. MetricsFresh.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(min_length=1, max_length=1024, pattern=CONDITION_REASON_PATTERN,
                        description="One CamelCase word saying why.")
    message: str = Field("", max_length=32768, description="What a human needs to know.")
    last_transition_time: Time = Field(description="When status last changed.")


class Resources(_Model):
    """CPU and memory as Kubernetes quantities (a resource left out is not set)."""

    cpu: Quantity | None = Field(None, description="CPU, e.g. 250m.")
    memory: Quantity | None = Field(None, description="Memory, e.g. 512Mi.")


class ResourceReasons(_Model):
    """The rules that gave each resource its decided value, by name (e.g. SCALE_DOWN_STEP_LIMIT)."""

    cpu: list[str] = Field(default_factory=list, description="Rules behind the CPU request.")
    memory: list[str] = Field(default_factory=list, description="Rules behind the memory request.")


class ContainerStatus(_Model):
    """One container: what it has, what the recommender says, what rikugame decided, and why."""

    name: str = Field(min_length=1, description="Container name.")
    current: Resources = Field(description="Requests now.")
    recommended: Resources | None = Field(
        None, description="The recommender's estimate before guardrails (absent while history is too short).")
    decided: Resources = Field(description="Requests after guardrails: what Auto applies.")
    lower_bound: Resources = Field(description="Smallest requests the Tuner's bounds allow for this container.")
    upper_bound: Resources = Field(description="Largest requests the Tuner's bounds allow for this container.")
    current_limits: Resources | None = Field(None, description="Limits now (a resource left out has none).")
    decided_limits: Resources | None = Field(None, description="Limits that go with the decided requests.")
    reasons: ResourceReasons = Field(default_factory=ResourceReasons, description="Rules applied, per resource.")


class HPAStatus(_Model):
    """What rikugame decided for the workload's HPA, and why."""

    target_utilization_percent: int = Field(ge=1, description="Average CPU utilisation target (percent).")
    min_replicas: int = Field(ge=1, description="minReplicas.")
    max_replicas: int = Field(ge=1, description="maxReplicas.")
    reasons: list[str] = Field(default_factory=list, description="Rules applied, by name.")
    explanation: str = Field("", description="How the values were reached.")


class Action(_Model):
    """One change rikugame made: what, from what, to what, and why."""

    time: Time = Field(description="When it was done.")
    what: str = Field(min_length=1, description="What changed, e.g. resize app.")
    from_: str = Field("", alias="from", description="The value before.")
    to: str = Field("", description="The value after.")
    why: str = Field("", description="The rules behind it.")

    def summary(self) -> str:
        """One line: ``what: from → to``."""
        change = f": {self.from_} → {self.to}" if self.from_ or self.to else ""
        return f"{self.what}{change}"


class PodResize(_Model):
    """An in-place resize in flight (or just finished) for one pod."""

    pod: str = Field(min_length=1, description="Pod name.")
    generation: int = Field(ge=0, description="The pod's metadata.generation the resize was sent as.")
    state: ResizeState = Field(description="Pending, Deferred, Infeasible, InProgress, Done or Error.")
    deadline: Time = Field(description="When an unfinished resize counts as failed.")
    message: str | None = Field(None, description="What the kubelet or the API server said.")


class TunerStatus(_Model):
    """The status of a Tuner (written by the operator through the status subresource)."""

    observed_generation: int | None = Field(None, ge=0, description="The spec generation this status is for.")
    phase: Phase | None = Field(None, description="Gathering, Recommending, Working, Emergency, BackToNormal "
                                                  "or Error.")
    mode: UpdateMode | None = Field(None, description="The mode in force (Emergency when metrics are missing).")
    target: str | None = Field(None, description="The tuned workload, Kind/name.")
    last_action: str | None = Field(None, max_length=MAX_LAST_ACTION_CHARS,
                                    description="The last thing done, in short.")
    conditions: list[Condition] = Field(default_factory=list, description="Kubernetes conditions.",
                                        json_schema_extra=list_map("type"))
    containers: list[ContainerStatus] = Field(default_factory=list, description="Per container.",
                                              json_schema_extra=list_map("name"))
    hpa: HPAStatus | None = Field(None, description="The HPA decision (absent when the Tuner leaves the HPA "
                                                    "alone).")
    last_actions: list[Action] = Field(default_factory=list, max_length=MAX_LAST_ACTIONS,
                                       description=f"The last {MAX_LAST_ACTIONS} changes, oldest first.")
    resizes: list[PodResize] = Field(default_factory=list, description="In-place resizes in flight, per pod.",
                                     json_schema_extra=list_map("pod"))

    def condition(self, type_: str) -> Condition | None:
        """The condition of this type (None when absent)."""
        return next((c for c in self.conditions if c.type == type_), None)


# -- from a decision ---------------------------------------------------------------------------------

def condition(type_: str, ok: bool, reason: str, message: str = "", *, now_rfc3339: str) -> Condition:
    """A condition that holds (``ok``) or not, stamped ``now_rfc3339``."""
    return Condition(type=type_, status=ConditionStatus.TRUE if ok else ConditionStatus.FALSE, reason=reason,
                     message=message, last_transition_time=now_rfc3339)


def _cpu(millicores: int) -> str | None:
    return quantities.format_cpu(millicores) if millicores >= 0 else None


def _memory(num_bytes: int) -> str | None:
    return quantities.format_memory(num_bytes) if num_bytes >= 0 else None


def _requests(r: ContainerResources) -> Resources:
    return Resources(cpu=_cpu(r.cpu_request_millicores), memory=_memory(r.memory_request_bytes))


def _limits(r: ContainerResources) -> Resources:
    return Resources(cpu=_cpu(r.cpu_limit_millicores), memory=_memory(r.memory_limit_bytes))


def _container_status(c: ContainerDecision) -> ContainerStatus:
    gathering = Reason.INSUFFICIENT_HISTORY.name in c.cpu_reasons + c.memory_reasons
    recommended = None if gathering else Resources(cpu=_cpu(c.proposed_cpu_millicores),
                                                    memory=_memory(c.proposed_memory_bytes))
    return ContainerStatus(
        name=c.name, current=_requests(c.current), recommended=recommended, decided=_requests(c.decided),
        lower_bound=_requests(c.lower_bound), upper_bound=_requests(c.upper_bound),
        current_limits=_limits(c.current), decided_limits=_limits(c.decided),
        reasons=ResourceReasons(cpu=list(c.cpu_reasons), memory=list(c.memory_reasons)))


def _decision_conditions(decision: WorkloadDecision, now_rfc3339: str) -> list[Condition]:
    """Conditions the decision itself shows: enough history, fresh metrics."""
    def having(reason: Reason) -> list[str]:
        return [c.name for c in decision.containers if reason.name in c.cpu_reasons + c.memory_reasons]

    gathering, stale = having(Reason.INSUFFICIENT_HISTORY), having(Reason.STALE_METRICS)
    return [
        condition("HistorySufficient", not gathering, "GatheringHistory" if gathering else "EnoughHistory",
                  f"too little history for: {', '.join(gathering)}; requests are kept" if gathering
                  else "every container has an estimate", now_rfc3339=now_rfc3339),
        condition("MetricsFresh", not stale, "StaleMetrics" if stale else "RecentSamples",
                  f"no recent sample for: {', '.join(stale)}; nothing shrinks" if stale
                  else "every container has a recent sample", now_rfc3339=now_rfc3339),
    ]


def merge_conditions(previous: Sequence[Condition], current: Iterable[Condition]) -> list[Condition]:
    """``current`` by type (later ones win), each keeping the previous lastTransitionTime while its status
    has not changed; previous conditions of other types are kept."""
    old = {c.type: c for c in previous}
    merged: dict[str, Condition] = {c.type: c for c in previous}
    for c in current:
        before = old.get(c.type)
        if before is not None and before.status is c.status:
            c = c.model_copy(update={"last_transition_time": before.last_transition_time})
        merged[c.type] = c
    return list(merged.values())


def status_from_decision(decision: WorkloadDecision, *, generation: int, phase: Phase, now_rfc3339: str,
                         previous: TunerStatus | None, target: str | None = None,
                         conditions: Iterable[Condition] = ()) -> TunerStatus:
    """The status that publishes ``decision`` (pure).

    ``target`` is the workload as ``Kind/name`` (default: the previous status's). ``conditions`` are the
    caller's own (e.g. ``Actuating`` with reason ``KillSwitch``); with the decision's ``HistorySufficient``
    and ``MetricsFresh`` they are merged into the previous conditions, each keeping its lastTransitionTime
    while its status holds. The last actions and resizes in flight are the previous status's: record what
    was done with :func:`record_actions`.
    """
    before = previous or TunerStatus()
    hpa = None
    if decision.hpa is not None:
        s = decision.hpa.settings
        hpa = HPAStatus(target_utilization_percent=s.target_utilization_percent, min_replicas=s.min_replicas,
                        max_replicas=s.max_replicas, reasons=decision.hpa.reasons.describe(),
                        explanation=decision.hpa.explanation)
    return TunerStatus(
        observed_generation=generation, phase=phase, mode=decision.mode, target=target or before.target,
        last_action=before.last_action,
        conditions=merge_conditions(before.conditions, [*_decision_conditions(decision, now_rfc3339),
                                                        *conditions]),
        containers=[_container_status(c) for c in decision.containers], hpa=hpa,
        last_actions=list(before.last_actions), resizes=list(before.resizes))


def describe_requests(r: ContainerResources) -> str:
    """``cpu 350m, memory 80Mi`` (what an action's from/to says)."""
    parts = [f"cpu {_cpu(r.cpu_request_millicores)}" if r.cpu_request_millicores >= 0 else "",
             f"memory {_memory(r.memory_request_bytes)}" if r.memory_request_bytes >= 0 else ""]
    return ", ".join(p for p in parts if p) or "none"


def describe_hpa(s: HPASettings) -> str:
    """``target 70%, min 3, max 12`` (what an action's from/to says)."""
    return f"target {s.target_utilization_percent}%, min {s.min_replicas}, max {s.max_replicas}"


def actions_of(decision: WorkloadDecision, now_rfc3339: str) -> list[Action]:
    """The changes ``decision`` makes, one per changed container and one for the HPA (what to record once
    they are done)."""
    out = [Action(time=now_rfc3339, what=f"resize {c.name}", from_=describe_requests(c.current),
                  to=describe_requests(c.decided),
                  why=", ".join(dict.fromkeys(c.cpu_reasons + c.memory_reasons)))
           for c in decision.containers if c.changed()]
    if decision.hpa is not None and decision.hpa.changed():
        p, s = decision.hpa.previous, decision.hpa.settings
        out.append(Action(
            time=now_rfc3339, what="hpa",
            from_=describe_hpa(p), to=describe_hpa(s),
            why=", ".join(decision.hpa.reasons.describe())))
    return out


def record_actions(status: TunerStatus, actions: Sequence[Action]) -> TunerStatus:
    """``status`` with ``actions`` appended to lastActions (the last :data:`MAX_LAST_ACTIONS` kept) and
    lastAction set to the newest one's summary."""
    if not actions:
        return status
    summary = actions[-1].summary()
    if len(summary) > MAX_LAST_ACTION_CHARS:
        summary = summary[:MAX_LAST_ACTION_CHARS - 1] + "…"
    return status.model_copy(update={"last_actions": [*status.last_actions, *actions][-MAX_LAST_ACTIONS:],
                                     "last_action": summary})
