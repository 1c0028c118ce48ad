"""``WorkloadTuning``: everything the core knows of one Tuner's workload, and the one decision it makes (pure).

Containers are known by name and mapped to rows of a :class:`VerticalTuning`; the Tuner's per-container
policies (bounds, which resources are tuned), its limit policy and its mode are applied here, so the
operator, the report and the backtest share one implementation. The horizontal side (the HPA) is tuned
with the pod's total CPU request, because the HPA's utilisation is Σ usage / Σ requests over all
containers of the pod (autoscaling/v2, resource metric of type Utilization).

Cycle: ``observe`` / ``observe_replicas`` / ``record_oom`` as data arrives, ``advance(now)`` on the cadence,
``decide(now)`` (pure), ``apply(decision, containers=…)`` with what was actually done.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rikugame.core import checkpoints
from rikugame.core.decisions import Reason, VerticalDecisions
from rikugame.core.histograms import IntArray
from rikugame.core.horizontal.deciding import HorizontalDecision, HorizontalTuning
from rikugame.core.horizontal.hpa import HPASettings
from rikugame.core.policy import ResourceMode, TunerSpec, UpdateMode
from rikugame.core.samples import UsageSamples
from rikugame.core.tuning import VerticalTuning

CHECKPOINT_KIND = "WorkloadTuning"
BACK_TO_NORMAL_SECONDS = 3600
"""How long leaving an emergency takes: shrinks stay frozen and minReplicas steps down from the emergency
floor to the normal decision in ``BACK_TO_NORMAL_STEPS`` equal steps (few HPA writes, no cliff)."""
BACK_TO_NORMAL_STEPS = 4


@dataclass(frozen=True)
class ContainerResources:
    """Requests and limits of one container in integer units (-1 = not set)."""

    cpu_request_millicores: int = -1
    memory_request_bytes: int = -1
    cpu_limit_millicores: int = -1
    memory_limit_bytes: int = -1


@dataclass(frozen=True)
class ContainerDecision:
    """What the core wants for one container, what it proposed before guardrails, and why."""

    name: str
    current: ContainerResources
    decided: ContainerResources
    proposed_cpu_millicores: int
    proposed_memory_bytes: int
    cpu_reasons: tuple[str, ...]
    memory_reasons: tuple[str, ...]
    lower_bound: ContainerResources = ContainerResources()
    """The Tuner's bounds in force for this container (requests only): decided values stay within them."""
    upper_bound: ContainerResources = ContainerResources()

    def changed(self) -> bool:
        """Whether anything of this container changes."""
        return self.decided != self.current


@dataclass(frozen=True)
class WorkloadDecision:
    """One decision for a whole workload at ``now``."""

    now: int
    mode: UpdateMode
    containers: tuple[ContainerDecision, ...]
    hpa: HorizontalDecision | None
    cpu_explanation: str
    memory_explanation: str
    vertical: VerticalDecisions
    back_to_normal: bool = False
    """Leaving an emergency (``BACK_TO_NORMAL_SECONDS``): nothing shrinks, minReplicas steps down."""

    @property
    def actuate(self) -> bool:
        """Whether the decision may be applied (``Off`` only recommends: the dry run)."""
        return self.mode is not UpdateMode.OFF

    def changed_containers(self) -> list[str]:
        """Names of the containers whose requests or limits change."""
        return [c.name for c in self.containers if c.changed()]

    def status(self) -> dict[str, Any]:
        """The recommendation to publish (camelCase, integer units; quantity strings are the caller's)."""
        def res(r: ContainerResources) -> dict[str, int]:
            return {"cpuMillicores": r.cpu_request_millicores, "memoryBytes": r.memory_request_bytes,
                    "cpuLimitMillicores": r.cpu_limit_millicores, "memoryLimitBytes": r.memory_limit_bytes}

        out: dict[str, Any] = {
            "time": self.now, "mode": self.mode.value,
            "containers": [{"name": c.name, "current": res(c.current), "decided": res(c.decided),
                            "recommended": {"cpuMillicores": c.proposed_cpu_millicores,
                                            "memoryBytes": c.proposed_memory_bytes},
                            "reasons": {"cpu": list(c.cpu_reasons), "memory": list(c.memory_reasons)}}
                           for c in self.containers],
            "explanation": {"cpu": self.cpu_explanation, "memory": self.memory_explanation},
        }
        if self.hpa is not None:
            s = self.hpa.settings
            out["hpa"] = {"targetUtilizationPercent": s.target_utilization_percent,
                          "minReplicas": s.min_replicas, "maxReplicas": s.max_replicas,
                          "reasons": self.hpa.reasons.describe(), "explanation": self.hpa.explanation}
        return out


class WorkloadTuning:
    """The tuning of one Tuner's workload: its containers by name, vertical and horizontal state."""

    def __init__(self, spec: TunerSpec, containers: Sequence[str],
                 recommender_settings: dict[str, Any] | None = None) -> None:
        if len(set(containers)) != len(containers):
            raise ValueError(f"container names repeat: {list(containers)}")
        self.spec = spec
        self.recommender_settings = dict(recommender_settings or {})
        self.containers = list(containers)
        self.vertical = VerticalTuning(len(self.containers), spec, self.recommender_settings)
        self.horizontal = HorizontalTuning.start(spec.horizontal) if spec.horizontal is not None else None
        self.in_emergency = False
        """Whether the last ``note_emergency`` found an emergency (spec mode Emergency or metrics missing)."""
        self.back_to_normal_since = -1
        """When the last emergency ended (-1: not leaving one)."""
        self.emergency_floor = 0
        """minReplicas the HPA had when the emergency ended: where BackToNormal steps down from."""
        self._configure_rows()

    # -- containers ----------------------------------------------------------------------------------
    def index(self, name: str) -> int:
        """Row of container ``name`` (KeyError naming the known containers)."""
        try:
            return self.containers.index(name)
        except ValueError:
            raise KeyError(f"container {name!r} is not tuned here; known: {', '.join(self.containers)}") from None

    def set_containers(self, names: Sequence[str]) -> None:
        """The pod template's containers changed: keep the history of those that stay, add the new ones
        empty, forget the removed ones."""
        if len(set(names)) != len(names):
            raise ValueError(f"container names repeat: {list(names)}")
        sources = [self.containers.index(n) if n in self.containers else None for n in names]
        self.vertical = self.vertical.reshaped(sources)
        self.containers = list(names)
        self._configure_rows()

    def reset(self, name: str) -> None:
        """Forget everything learnt about container ``name`` (e.g. its image changed its footprint)."""
        row = self.index(name)
        sources: list[int | None] = list(range(len(self.containers)))
        sources[row] = None
        self.vertical = self.vertical.reshaped(sources)
        self._configure_rows()

    def _configure_rows(self) -> None:
        v = self.vertical
        for i, name in enumerate(self.containers):
            policy = self.spec.container_policy(name)
            b = self.spec.bounds_for(name)
            v.min_cpu_millicores[i], v.max_cpu_millicores[i] = b.min_cpu_millicores, b.max_cpu_millicores
            v.min_memory_bytes[i], v.max_memory_bytes[i] = b.min_memory_bytes, b.max_memory_bytes
            v.cpu_tuned[i] = policy.cpu is ResourceMode.VERTICAL
            v.memory_tuned[i] = policy.memory is ResourceMode.VERTICAL

    # -- input ---------------------------------------------------------------------------------------
    def observe(self, samples: UsageSamples) -> None:
        """Usage samples whose rows are container indices (:meth:`index`)."""
        self.vertical.observe(samples)

    def observe_container(self, name: str, timestamps: Sequence[int], cpu_cores: Sequence[float],
                          memory_bytes: Sequence[float]) -> None:
        """Usage samples of one container (NaN = not measured)."""
        row = self.index(name)
        self.observe(UsageSamples.of(np.full(len(timestamps), row), timestamps, cpu_cores, memory_bytes))

    def observe_replicas(self, now: int, replicas: int, ready_pods: float, usage_per_pod_cores: float) -> None:
        """One minute of the horizontal signal: replicas, ready pods, CPU per ready pod (all containers)."""
        if self.horizontal is not None:
            self.horizontal.observe(now, replicas, ready_pods, usage_per_pod_cores)

    def record_oom(self, name: str, timestamp: int, memory_bytes: float) -> None:
        """An OOM kill of container ``name`` at max(limit, observed peak) ``memory_bytes``."""
        self.vertical.record_oom(np.array([self.index(name)]), np.array([timestamp]),
                                 np.array([float(memory_bytes)]))

    def set_current(self, resources: Mapping[str, ContainerResources]) -> None:
        """What the containers request and limit now (containers not named keep what the tuning knows)."""
        v = self.vertical
        for name, r in resources.items():
            i = self.index(name)
            v.current_cpu_millicores[i], v.current_memory_bytes[i] = r.cpu_request_millicores, r.memory_request_bytes
            v.current_cpu_limit[i], v.current_memory_limit[i] = r.cpu_limit_millicores, r.memory_limit_bytes

    def set_current_hpa(self, settings: HPASettings) -> None:
        """The HPA settings in the cluster now (adopted HPA, or what an earlier apply left)."""
        if self.horizontal is not None:
            self.horizontal.current = settings

    def pod_cpu_request_millicores(self) -> int:
        """Σ CPU requests of the pod's containers now (what the HPA divides usage by)."""
        cpu = self.vertical.current_cpu_millicores
        return int(cpu[cpu > 0].sum())

    # -- the cycle -----------------------------------------------------------------------------------
    def advance(self, now: int) -> None:
        """Move the models to ``now`` where their cadence has elapsed (decisions read in between are pure)."""
        self.vertical.advance(now)
        if self.horizontal is not None:
            self.horizontal.advance(now)

    def note_emergency(self, now: int, active: bool) -> None:
        """Record whether an emergency holds at ``now`` (the spec's mode Emergency, or metrics missing): its
        end starts the BackToNormal phase, which :meth:`decide` reads (a state update, like ``advance``)."""
        active = active or self.spec.mode is UpdateMode.EMERGENCY
        if active:
            self.in_emergency, self.back_to_normal_since = True, -1
        elif self.in_emergency:
            self.in_emergency, self.back_to_normal_since = False, now
            self.emergency_floor = self.horizontal.current.min_replicas if self.horizontal is not None else 0

    def back_to_normal(self, now: int) -> float | None:
        """How far BackToNormal has gone at ``now`` (0 at the emergency's end, in ``BACK_TO_NORMAL_STEPS``
        steps; None: not in that phase)."""
        if self.back_to_normal_since < 0 or now - self.back_to_normal_since >= BACK_TO_NORMAL_SECONDS:
            return None
        step = BACK_TO_NORMAL_SECONDS / BACK_TO_NORMAL_STEPS
        return int((now - self.back_to_normal_since) // step) / BACK_TO_NORMAL_STEPS

    def decide(self, now: int, *, replicas: int | None = None, emergency: bool = False) -> WorkloadDecision:
        """The decision at ``now`` (changes no state). ``replicas``: spec.replicas now, for the HPA side
        (no HPA decision without it, or while no container requests CPU: utilisation is undefined).
        ``emergency``: behave as the ``Emergency`` mode whatever the spec says (metrics went missing).
        After an emergency (see :meth:`note_emergency`), BackToNormal: nothing shrinks yet, and minReplicas
        steps down from the emergency floor."""
        emergency = emergency or self.spec.mode is UpdateMode.EMERGENCY
        recovering = None if emergency else self.back_to_normal(now)
        v = self.vertical.decide(now, emergency=emergency or recovering is not None)
        containers = tuple(self._container_decision(i, name, v) for i, name in enumerate(self.containers))
        hpa = None
        if self.horizontal is not None and replicas is not None and self.pod_cpu_request_millicores() > 0:
            hpa = self.horizontal.decide(now, replicas=replicas, request_millicores=self.pod_cpu_request_millicores())
            if emergency:
                hpa = emergency_hpa(hpa, max(replicas, self.horizontal.history.recent_peak_replicas()))
            elif recovering is not None:
                hpa = back_to_normal_hpa(hpa, self.emergency_floor, recovering)
        mode = UpdateMode.EMERGENCY if emergency and self.spec.mode is not UpdateMode.OFF else self.spec.mode
        return WorkloadDecision(now, mode, containers, hpa, v.cpu_explanation, v.memory_explanation, v,
                                back_to_normal=recovering is not None and self.spec.mode is not UpdateMode.OFF)

    def _container_decision(self, i: int, name: str, v: VerticalDecisions) -> ContainerDecision:
        t = self.vertical
        current = ContainerResources(int(v.cpu.previous[i]), int(v.memory.previous[i]), int(t.current_cpu_limit[i]),
                                     int(t.current_memory_limit[i]))
        decided = ContainerResources(int(v.cpu.decided[i]), int(v.memory.decided[i]), int(v.cpu.limit[i]),
                                     int(v.memory.limit[i]))
        lower = ContainerResources(int(t.min_cpu_millicores[i]), int(t.min_memory_bytes[i]))
        upper = ContainerResources(int(t.max_cpu_millicores[i]), int(t.max_memory_bytes[i]))
        return ContainerDecision(name, current, decided, int(v.cpu.proposed[i]), int(v.memory.proposed[i]),
                                 tuple(Reason(int(v.cpu.reasons[i])).describe()),
                                 tuple(Reason(int(v.memory.reasons[i])).describe()), lower, upper)

    def apply(self, decision: WorkloadDecision, *, containers: Sequence[str] | None = None,
              hpa: bool = True) -> None:
        """Record what was actually done: the named containers were resized (default: all), and the HPA
        settings were written when ``hpa``. Containers not named keep their state (and pending OOMs)."""
        rows: IntArray | None = None
        if containers is not None:
            rows = np.array([self.index(n) for n in containers], dtype=np.int64)
        self.vertical.apply(decision.vertical, rows)
        if hpa and decision.hpa is not None and self.horizontal is not None:
            self.horizontal.apply(decision.hpa)

    # -- checkpoints ---------------------------------------------------------------------------------
    def to_checkpoint(self) -> dict[str, Any]:
        """Everything, JSON-able and versioned (containers by name)."""
        return {"version": checkpoints.FORMAT_VERSION, "kind": CHECKPOINT_KIND, "containers": list(self.containers),
                "vertical": self.vertical.to_checkpoint(),
                "horizontal": self.horizontal.to_checkpoint() if self.horizontal is not None else None,
                "emergency": {"active": self.in_emergency, "backToNormalSince": self.back_to_normal_since,
                              "floor": self.emergency_floor}}

    @classmethod
    def from_checkpoint(cls, spec: TunerSpec, data: dict[str, Any],
                        recommender_settings: dict[str, Any] | None = None) -> WorkloadTuning:
        """Rebuild from :meth:`to_checkpoint` output under ``spec`` (CheckpointError when unusable).

        A checkpoint of another recommender restores the containers' current settings and guardrail memory
        but not the model (it starts learning again); horizontal state is restored when the spec still
        tunes the HPA.
        """
        checkpoints.check_version(data, CHECKPOINT_KIND)
        names = [str(n) for n in checkpoints.field(data, "containers")]
        tuning = cls(spec, names, recommender_settings)
        vertical = checkpoints.field(data, "vertical")
        if checkpoints.field(vertical, "recommender") == spec.recommender:
            tuning.vertical = VerticalTuning.from_checkpoint(spec, vertical, tuning.recommender_settings)
        else:
            for r, state in enumerate(checkpoints.field(vertical, "rows")):
                fresh = dict(state, model=tuning.vertical.recommender.row_state(r))
                tuning.vertical.load_row_state(r, fresh)
        if len(tuning.vertical.current_cpu_millicores) != len(names):
            raise checkpoints.CheckpointError("checkpoint: containers and vertical rows differ in number")
        horizontal = checkpoints.field(data, "horizontal")
        if spec.horizontal is not None and horizontal is not None:
            tuning.horizontal = HorizontalTuning.from_checkpoint(spec.horizontal, horizontal)
        emergency = data.get("emergency")  # absent in checkpoints written before BackToNormal existed
        if isinstance(emergency, dict):
            tuning.in_emergency = bool(checkpoints.field(emergency, "active"))
            tuning.back_to_normal_since = int(checkpoints.field(emergency, "backToNormalSince"))
            tuning.emergency_floor = int(checkpoints.field(emergency, "floor"))
        tuning._configure_rows()
        return tuning


def emergency_hpa(decision: HorizontalDecision, peak_replicas: int) -> HorizontalDecision:
    """Emergency: minReplicas at least the recent peak of replicas and never lowered; the target never raised."""
    prev, s = decision.previous, decision.settings
    min_replicas = max(s.min_replicas, prev.min_replicas, peak_replicas)
    target = min(s.target_utilization_percent, prev.target_utilization_percent)
    settings = HPASettings(target, min_replicas, max(s.max_replicas, min_replicas), s.behavior)
    return replace(decision, settings=settings, explanation="emergency: " + decision.explanation)


def back_to_normal_hpa(decision: HorizontalDecision, floor: int, progress: float) -> HorizontalDecision:
    """BackToNormal: minReplicas at ``progress`` (0 → 1) of the way from the emergency ``floor`` down to the
    normal decision; never below the normal decision."""
    s = decision.settings
    if floor <= s.min_replicas:
        return decision
    min_replicas = max(s.min_replicas, math.ceil(floor - (floor - s.min_replicas) * progress))
    settings = HPASettings(s.target_utilization_percent, min_replicas, max(s.max_replicas, min_replicas), s.behavior)
    return replace(decision, settings=settings,
                   explanation=f"back to normal ({progress:.0%}): " + decision.explanation)
