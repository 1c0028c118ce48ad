"""One operator cycle: list once, feed every Tuner's ``WorkloadTuning``, decide, act, publish, checkpoint.

Reads are one list per kind per cycle (Tuners, pods, ReplicaSets, pod metrics), never per Tuner; each
Tuner then costs only its own writes (a resize per pod that must change, a status patch when the status
changed, a checkpoint every ``checkpoint_interval_seconds``). The decision core runs unchanged through
``WorkloadTuning``; this module only maps cluster objects to it and its decisions back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import ValidationError

from rikugame.core import quantities
from rikugame.core.checkpoints import CheckpointError
from rikugame.core.policy import RollingRestart, TunerSpec, UpdateMode
from rikugame.core.samples import UsageSamples
from rikugame.core.tuner_status import (
    Action,
    Condition,
    Phase,
    PodResize,
    ResizeState,
    TunerStatus,
    condition,
    describe_hpa,
    describe_requests,
    status_from_decision,
)
from rikugame.core.workload import ContainerResources, WorkloadDecision, WorkloadTuning
from rikugame.operator.access import ClusterAccess, FieldConflict, HistorySource, ResizeRefused
from rikugame.operator.hpas import apply_body, hpa_target, keda_owned, settings_of
from rikugame.operator.pods import (
    OOMKill,
    WorkloadKey,
    oom_kills,
    owner_workload,
    pod_ready,
    pod_resources,
    resize_patch,
    resize_progress,
    resize_target,
    restart_required,
)
from rikugame.operator.settings import OperatorSettings

log = logging.getLogger("rikugame.operator")
MAX_ACTIONS = 10


def rfc3339_seconds(text: str) -> int:
    """Unix seconds of an RFC 3339 time (``2026-12-01T21:00:00Z``)."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def rfc3339(seconds: float) -> str:
    """RFC 3339 (UTC, whole seconds) of Unix seconds."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


IN_FLIGHT = (ResizeState.PENDING, ResizeState.IN_PROGRESS, ResizeState.DEFERRED)


@dataclass
class ResizeTrack:
    """One in-place resize followed to completion (shown in the Tuner status as ``resizes``)."""

    pod: str
    generation: int
    target: dict[str, ContainerResources]
    deadline: int
    sent: int = 0
    state: ResizeState = ResizeState.PENDING
    message: str | None = None
    reported_done: bool = False

    def status(self) -> PodResize:
        """The status entry."""
        return PodResize(pod=self.pod, generation=self.generation, state=self.state, deadline=rfc3339(self.deadline),
                         message=self.message[:500] if self.message else None)


@dataclass
class TunerRuntime:
    """What the operator keeps per Tuner between cycles (the model itself lives in ``tuning``)."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: TunerSpec
    tuning: WorkloadTuning
    seen_ooms: set[tuple[str, str, int]] = field(default_factory=set)
    last_metrics: int = -1
    last_checkpoint: float = -1.0
    published: str | None = None
    status: TunerStatus | None = None
    actions: list[Action] = field(default_factory=list)
    refused: dict[tuple[str, str], str] = field(default_factory=dict)
    """(pod, patch as JSON) → why the API refused it: not retried until the wanted size changes."""
    resizes: dict[str, ResizeTrack] = field(default_factory=dict)
    """Pod name → its last in-place resize, followed until Done, Error or Infeasible."""
    infeasible: dict[str, dict[str, ContainerResources]] = field(default_factory=dict)
    """Pod name → a size the kubelet found Infeasible: not asked again until the wanted size drops."""
    admitted: dict[str, ContainerResources] = field(default_factory=dict)
    """Per container, the resources last applied: what the webhook gives new pods (during a rolling restart
    the old pods still show the old ones)."""
    last_restart: int = -1
    """When the operator last made a rolling restart of the workload (-1: never)."""
    restart_notice: str | None = None
    """The in-place impossibility last reported without a rolling restart (reported once)."""
    decision: WorkloadDecision | None = None
    """The last decision (for /metrics)."""
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(reason, message, type) of the Events this cycle's changes make, sent at its end."""


@dataclass
class CycleReport:
    """What one cycle did (for logs, /metrics and tests)."""

    tuners: int = 0
    samples: int = 0
    resized_pods: int = 0
    refused_resizes: int = 0
    oom_kills: int = 0
    status_writes: int = 0
    checkpoint_writes: int = 0
    hpa_writes: int = 0
    rolling_restarts: int = 0
    resize_seconds: list[float] = field(default_factory=list)
    """How long each in-place resize found done this cycle took (sent → done)."""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def metrics_samples(pod_metrics: list[dict[str, Any]], pods_by_name: Mapping[tuple[str, str], dict[str, Any]],
                    owners: Mapping[tuple[str, str], WorkloadKey]
                    ) -> dict[WorkloadKey, list[tuple[str, int, float, float]]]:
    """Per workload: (container, time, CPU cores, memory bytes) of every ready pod's metrics."""
    out: dict[WorkloadKey, list[tuple[str, int, float, float]]] = defaultdict(list)
    for m in pod_metrics:
        meta = m.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        workload = owners.get(key)
        pod = pods_by_name.get(key)
        if workload is None or pod is None or not pod_ready(pod):
            continue
        ts = rfc3339_seconds(m["timestamp"])
        for c in m.get("containers") or []:
            usage = c.get("usage") or {}
            cpu = float(quantities.parse_quantity(usage["cpu"])) if "cpu" in usage else float("nan")
            mem = float(quantities.parse_quantity(usage["memory"])) if "memory" in usage else float("nan")
            out[workload].append((c.get("name", ""), ts, cpu, mem))
    return out


class Reconciler:
    """Drives every Tuner of a cluster through the decision core, one cycle at a time."""

    def __init__(self, access: ClusterAccess, settings: OperatorSettings,
                 clock: Callable[[], float] = time.time, history: HistorySource | None = None) -> None:
        self.history = history
        self.backfills_left = 0
        self.access = access
        self.settings = settings
        self.clock = clock
        self.tuners: dict[tuple[str, str], TunerRuntime] = {}
        self.last_cycle_end: float = -1.0
        self.rs_owners: dict[tuple[str, str], tuple[str, str]] = {}
        self.halted = False
        self.by_workload: dict[WorkloadKey, TunerRuntime] = {}

    # -- one cycle -------------------------------------------------------------------------------------
    async def cycle(self) -> CycleReport:
        """List once, then decide and act for every Tuner."""
        started = time.perf_counter()
        report = CycleReport()
        now = int(self.clock())
        self.backfills_left = self.settings.backfills_per_cycle
        tuners = await self.access.list_tuners()
        if self.settings.watch_namespaces:
            tuners = [t for t in tuners if t["metadata"]["namespace"] in self.settings.watch_namespaces]
        pods = await self.access.list_pods()
        rs_owners = await self.access.replicaset_owners()
        metrics = await self.access.list_pod_metrics()
        hpas = {hpa_target(h): h for h in await self.access.list_hpas()}
        workloads = await self.access.list_workloads()
        halted = self.settings.kill_switch or await self.access.kill_switch(
            self.settings.namespace, self.settings.kill_switch_configmap)
        self.rs_owners, self.halted = rs_owners, halted
        pods_by_name = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
        owners = {k: w for k, p in pods_by_name.items() if (w := owner_workload(p, rs_owners)) is not None}
        pods_of: dict[WorkloadKey, list[dict[str, Any]]] = defaultdict(list)
        for k, w in owners.items():
            pods_of[w].append(pods_by_name[k])
        samples = metrics_samples(metrics or [], pods_by_name, owners)
        live = set()
        budget_end = time.perf_counter() + self.settings.checkpoint_budget_seconds
        for obj in tuners:
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            live.add(key)
            try:
                await self._one(obj, now, workloads, pods_of, samples, hpas, metrics is not None, halted, report,
                                budget_end)
            except Exception as exc:  # one Tuner's failure must not stop the others
                log.exception("tuner %s/%s failed", *key)
                report.errors.append(f"{key[0]}/{key[1]}: {exc}")
            # A Tuner's decision is ~3 ms of CPU: yield between Tuners so the webhook and /healthz answer
            # during a long cycle (a 10,000-Tuner cycle would otherwise hold the loop for ~30 s).
            await asyncio.sleep(0)
        for gone in set(self.tuners) - live:
            del self.tuners[gone]
        # The webhook's lookup (one per pod admission): by workload, not a scan of every Tuner.
        self.by_workload = {(rt.namespace, rt.spec.target_ref.kind, rt.spec.target_ref.name): rt
                            for rt in self.tuners.values()}
        report.tuners = len(tuners)
        report.seconds = time.perf_counter() - started
        self.last_cycle_end = self.clock()
        return report

    async def _one(self, obj: dict[str, Any], now: int, workloads: Mapping[WorkloadKey, dict[str, Any]],
                   pods_of: Mapping[WorkloadKey, list[dict[str, Any]]],
                   samples: Mapping[WorkloadKey, list[tuple[str, int, float, float]]],
                   hpas: Mapping[WorkloadKey, dict[str, Any]], metrics_ok: bool,
                   halted: bool, report: CycleReport, budget_end: float) -> None:
        meta = obj["metadata"]
        ns, name = meta["namespace"], meta["name"]
        try:
            spec = TunerSpec.model_validate(obj.get("spec") or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            message = f"invalid spec: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
            await self._publish_error(ns, name, message, report)
            return
        ref = spec.target_ref
        workload = workloads.get((ns, ref.kind, ref.name))
        if workload is None:
            await self._publish_error(ns, name, f"target {ref.kind}/{ref.name} not found", report)
            return
        containers = [c["name"] for c in workload["spec"]["template"]["spec"]["containers"]]
        rt = await self._runtime(obj, spec, containers, report, now)
        if rt is None:  # waits for its backfill (per-cycle budget)
            return
        t = rt.tuning
        if t.containers != containers:
            t.set_containers(containers)
        key = (ns, ref.kind, ref.name)
        pods = [p for p in pods_of.get(key, []) if p.get("status", {}).get("phase") == "Running"]
        ready = [p for p in pods if pod_ready(p)]
        if ready:  # the newest pod: after a rolling restart, the first to carry the new resources
            newest = max(ready, key=lambda p: p["metadata"].get("creationTimestamp") or "")
            t.set_current({c: r for c, r in pod_resources(newest).items() if c in containers})
        mine = samples.get(key, [])
        if mine:
            rows = np.array([t.index(c) for c, *_ in mine if c in containers], dtype=np.int64)
            kept = [s for s in mine if s[0] in containers]
            t.observe(UsageSamples.of(rows, [s[1] for s in kept], [s[2] for s in kept], [s[3] for s in kept]))
            rt.last_metrics = max(rt.last_metrics, max(s[1] for s in kept)) if kept else rt.last_metrics
            report.samples += len(kept)
        for pod in pods:
            for kill in oom_kills(pod):
                self._record_oom(rt, kill, report)
        self._track_resizes(rt, pods, now, report)
        if rt.last_metrics < 0:
            rt.last_metrics = now if metrics_ok and mine else rt.last_metrics
        missing = metrics_ok is False or (rt.last_metrics >= 0 and now - rt.last_metrics
                                           > self.settings.emergency_after_seconds)
        hpa = hpas.get(key)
        conditions: list[Condition] = []
        replicas: int | None = None
        if spec.horizontal is not None:
            replicas = int(workload.get("spec", {}).get("replicas") or workload.get("status", {}).get("replicas") or 0)
            self._observe_replicas(rt, now, replicas, ready, mine)
            if hpa is not None and keda_owned(hpa):
                replicas = None  # no HPA decision: KEDA owns it
                conditions.append(condition("HPAManaged", False, "OwnedByKEDA",
                                            "a KEDA ScaledObject owns this HPA: rikugame leaves it alone",
                                            now_rfc3339=rfc3339(now)))
            elif hpa is not None and (adopted := settings_of(hpa)) is not None:
                t.set_current_hpa(adopted)
        t.advance(now)
        t.note_emergency(now, missing)
        decision = t.decide(now, replicas=replicas, emergency=missing)
        rt.decision = decision
        acted = False
        if decision.actuate and not halted and ready:
            acted = await self._resize(rt, decision, ready, workload, key, report)
        if decision.hpa is not None and decision.actuate and not halted:
            waiting = acted or any(r.state in IN_FLIGHT for r in rt.resizes.values())
            conditions += await self._apply_hpa(rt, decision, workload, key, hpa, resized=waiting, report=report)
        await self._publish(rt, decision, now, halted=halted, missing=missing, pods=len(ready), report=report,
                            extra=conditions)
        await self._emit_events(rt)
        due = acted or rt.last_checkpoint < 0 or \
            self.clock() - rt.last_checkpoint >= self.settings.checkpoint_interval_seconds
        if due and time.perf_counter() < budget_end:
            await self._checkpoint(rt, obj, report)

    # -- the webhook's view ------------------------------------------------------------------------------
    def decided_for(self, workload: WorkloadKey) -> dict[str, ContainerResources] | None:
        """What pods of ``workload`` should start with: the resources last applied by its Tuner in Auto
        (None: not tuned in Auto, or the kill switch is on)."""
        rt = self.by_workload.get(workload)
        if self.halted or rt is None or rt.spec.mode is not UpdateMode.AUTO:
            return None
        v = rt.tuning.vertical  # before its first action since a start: what running pods have
        return {name: rt.admitted.get(name) or ContainerResources(
            int(v.current_cpu_millicores[i]), int(v.current_memory_bytes[i]), int(v.current_cpu_limit[i]),
            int(v.current_memory_limit[i])) for i, name in enumerate(rt.tuning.containers)}

    # -- state -----------------------------------------------------------------------------------------
    async def _runtime(self, obj: dict[str, Any], spec: TunerSpec, containers: list[str],
                       report: CycleReport, now: int) -> TunerRuntime | None:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        rt = self.tuners.get(key)
        generation = int(meta.get("generation", 0))
        if rt is not None and rt.uid == meta.get("uid") and rt.generation == generation:
            return rt
        if rt is not None and rt.uid == meta.get("uid"):  # the spec changed: keep what was learnt
            data = rt.tuning.to_checkpoint()
            tuning = WorkloadTuning.from_checkpoint(spec, data)
            rt.spec, rt.generation, rt.tuning = spec, generation, tuning
            rt.refused.clear()  # a new spec (e.g. rollingRestart) may make a refused change possible
            rt.restart_notice = None
            return rt
        tuning = WorkloadTuning(spec, containers)
        stored = await self.access.read_checkpoint(*key)
        if stored is not None:
            try:
                data = json.loads(stored["spec"]["data"])
                tuning = WorkloadTuning.from_checkpoint(spec, data)
                log.info("tuner %s/%s: state restored from its checkpoint", *key)
            except (KeyError, ValueError, CheckpointError) as exc:
                report.errors.append(f"{key[0]}/{key[1]}: checkpoint unusable, starting afresh: {exc}")
        elif self.history is not None:  # a new Tuner: its workload's past, within the per-cycle budget
            if self.backfills_left <= 0:
                return None
            self.backfills_left -= 1
            await self._backfill(tuning, spec, key, now)
        rt = TunerRuntime(key[0], key[1], str(meta.get("uid", "")), generation, spec, tuning)
        self.tuners[key] = rt
        return rt

    async def _backfill(self, tuning: WorkloadTuning, spec: TunerSpec, key: tuple[str, str], now: int) -> None:
        """A new Tuner (no checkpoint) starts from its workload's past usage instead of gathering for days.
        OOM kills of the last hour also raise memory at once; older ones are in the memory peaks already."""
        assert self.history is not None
        ref = spec.target_ref
        try:
            past = await self.history.workload_history(key[0], ref.kind, ref.name, now)
        except Exception as exc:  # no backfill is no reason to stop: the Tuner gathers as without one
            log.warning("tuner %s/%s: no backfill from the history source: %s", *key, exc)
            return
        samples = 0
        for name, h in past.items():
            if name not in tuning.containers or len(h.timestamps) == 0:
                continue
            tuning.observe(UsageSamples.of(np.full(len(h.timestamps), tuning.index(name)), h.timestamps,
                                           h.cpu_cores, h.memory_bytes))
            samples += len(h.timestamps)
            for when, memory in zip(h.oom_timestamps, h.oom_memory_bytes, strict=True):
                if now - int(when) <= 3600:
                    tuning.record_oom(name, int(when), float(memory))
        log.info("tuner %s/%s: backfilled %d samples of %d container(s) from the history source", *key, samples,
                 len(past))

    def _observe_replicas(self, rt: TunerRuntime, now: int, replicas: int, ready: list[dict[str, Any]],
                          mine: list[tuple[str, int, float, float]]) -> None:
        """One minute of the horizontal signal: replicas, ready pods, CPU per ready pod (all containers)."""
        if not ready or not mine:
            return
        latest = max(s[1] for s in mine)
        cpu = sum(s[2] for s in mine if s[1] == latest and s[2] == s[2])
        rt.tuning.observe_replicas(now // 60 * 60, replicas, float(len(ready)), cpu / len(ready))

    def _record_oom(self, rt: TunerRuntime, kill: OOMKill, report: CycleReport) -> None:
        ident = (kill.pod_uid, kill.container, kill.restart_count)
        if ident in rt.seen_ooms or kill.container not in rt.tuning.containers:
            return
        rt.seen_ooms.add(ident)
        when = rfc3339_seconds(kill.finished_at) if kill.finished_at else int(self.clock())
        current = rt.tuning.vertical.current_memory_bytes[rt.tuning.index(kill.container)]
        rt.tuning.record_oom(kill.container, when, float(max(kill.limit_bytes, int(current))))
        report.oom_kills += 1
        rt.events.append(("OOMKilled", f"container {kill.container} of pod uid {kill.pod_uid} was OOM-killed "
                                       f"(restart {kill.restart_count}): memory is raised now", "Warning"))

    def _track_resizes(self, rt: TunerRuntime, pods: list[dict[str, Any]], now: int, report: CycleReport) -> None:
        """Follow each in-place resize from the pod's conditions and the kubelet's observed generation, to
        Done, Infeasible (not asked again until the wanted size drops) or Error (its deadline passed)."""
        by_name = {p["metadata"]["name"]: p for p in pods}
        for pname, track in list(rt.resizes.items()):
            pod = by_name.get(pname)
            if pod is None or (track.state is ResizeState.DONE and track.reported_done):
                del rt.resizes[pname]
                continue
            if track.state not in IN_FLIGHT:
                continue
            state_name, message = resize_progress(pod, track.generation)
            state = ResizeState(state_name)
            if state in IN_FLIGHT and now > track.deadline:
                state, message = ResizeState.ERROR, f"not done by its deadline (still {state_name}" + (
                    f": {message})" if message else ")")
            if state == track.state:
                continue
            track.state, track.message = state, message
            if state is ResizeState.DONE:
                report.resize_seconds.append(float(now - track.sent))
            if state is ResizeState.INFEASIBLE:
                rt.infeasible[pname] = track.target
                self._action(rt, now, f"resize {pname} infeasible", "", "", message or "the node cannot fit it",
                             reason="ResizeInfeasible", type_="Warning")
            elif state is ResizeState.ERROR:
                self._action(rt, now, f"resize {pname} failed", "", "", message or "error",
                             reason="ResizeFailed", type_="Warning")

    # -- acting ----------------------------------------------------------------------------------------
    async def _resize(self, rt: TunerRuntime, decision: WorkloadDecision, pods: list[dict[str, Any]],
                      workload: dict[str, Any], key: WorkloadKey, report: CycleReport) -> bool:
        decided = {c.name: c.decided for c in decision.containers}
        failed: set[str] = set()
        resized: set[str] = set()
        blocked: dict[str, str] = {}
        changed = False
        for pod in pods:
            current = pod_resources(pod)
            target = resize_target(current, decided)
            patch = resize_patch(current, target)
            if patch is None:
                continue
            pname = pod["metadata"]["name"]
            names = {c["name"] for c in patch["spec"]["containers"]}
            restarts = restart_required(pod, current, target)
            if restarts is not None:
                blocked[pname] = restarts
                failed.update(names)
                continue
            ident = (pname, json.dumps(patch, sort_keys=True))
            track = rt.resizes.get(pname)
            in_flight = track is not None and track.state in IN_FLIGHT and not _raises_memory(current, target)
            infeasible = rt.infeasible.get(pname)
            if ident in rt.refused or in_flight or (infeasible is not None and not _drops(target, infeasible)):
                failed.update(names)
                continue
            rt.infeasible.pop(pname, None)
            try:
                generation = await self.access.resize_pod(rt.namespace, pname, patch)
            except ResizeRefused as exc:
                rt.refused[ident] = exc.message
                failed.update(names)
                report.refused_resizes += 1
                self._action(rt, decision.now, f"resize {pname} refused", "", "", exc.message,
                             reason="ResizeRefused", type_="Warning")
                if exc.status == 422:  # the API says this resize cannot happen in place
                    blocked[pname] = exc.message
                continue
            rt.resizes[pname] = ResizeTrack(pname, generation, target,
                                            decision.now + self.settings.resize_deadline_seconds, decision.now)
            report.resized_pods += 1
            changed = True
            resized.update(names)
            for c in patch["spec"]["containers"]:
                before = current[c["name"]]
                after = target[c["name"]]
                why = ", ".join(next(d.cpu_reasons + d.memory_reasons for d in decision.containers
                                     if d.name == c["name"]))
                self._action(rt, decision.now, f"resize {pname}/{c['name']}", describe_requests(before),
                             describe_requests(after), why, reason="Resized")
        if blocked and await self._rolling_restart(rt, decision, workload, key, len(pods), blocked, report):
            failed, changed = set(), True  # the new pods get the whole decision from the webhook
            resized.update(c.name for c in decision.containers)
        applied = [c.name for c in decision.containers if c.name not in failed]
        rt.tuning.apply(decision, containers=applied, hpa=False)
        rt.admitted.update({c.name: c.decided for c in decision.containers if c.name in resized})
        return changed

    async def _rolling_restart(self, rt: TunerRuntime, decision: WorkloadDecision, workload: dict[str, Any],
                               key: WorkloadKey, ready: int, blocked: Mapping[str, str],
                               report: CycleReport) -> bool:
        """Replace pods that cannot be resized in place by a rolling restart (their successors get the decided
        resources from the webhook), if the Tuner's ``vertical.rollingRestart`` allows it for ``ready`` pods,
        the webhook is served, no rollout is under way, and none was made within the decision interval."""
        policy = rt.spec.vertical.rolling_restart
        why = "; ".join(f"{pod}: {reason}" for pod, reason in sorted(blocked.items()))
        allowed = policy is RollingRestart.ALWAYS or (policy is RollingRestart.IF_REPLICATED and ready >= 2)
        if not allowed or self.settings.webhook_port is None:
            notice = (f"rollingRestart {policy.value} and {ready} ready pod(s)" if not allowed
                      else "no webhook is served, so new pods would not get the decided resources")
            if rt.restart_notice != why:
                rt.restart_notice = why
                self._action(rt, decision.now, "in-place resize impossible", "", "", f"{why} (no rolling restart: "
                             f"{notice})", reason="InPlaceImpossible", type_="Warning")
            return False
        interval = rt.spec.vertical.decision_interval_seconds
        if _rollout_in_progress(workload) or (rt.last_restart >= 0 and decision.now - rt.last_restart < interval):
            return False
        await self.access.restart_workload(key[0], key[1], key[2], rfc3339(decision.now))
        rt.last_restart, rt.restart_notice = decision.now, None
        report.rolling_restarts += 1
        self._action(rt, decision.now, f"rolling restart {key[1]}/{key[2]}", "", "",
                     f"in place impossible: {why}", reason="RollingRestart", type_="Warning")
        return True

    async def _apply_hpa(self, rt: TunerRuntime, decision: WorkloadDecision, workload: dict[str, Any],
                         key: WorkloadKey, hpa: dict[str, Any] | None, *, resized: bool,
                         report: CycleReport) -> list[Condition]:
        """Write the HPA settings by server-side apply, unless a resize happened in this step (the HPA divides
        by spec requests before the kubelet applies them: resize first, co-tune the target next cycle)."""
        assert decision.hpa is not None
        if resized:
            return []
        if hpa is not None and not decision.hpa.changed():
            rt.tuning.apply(decision, containers=[], hpa=True)
            return []
        name = hpa["metadata"]["name"] if hpa is not None else key[2]
        body = apply_body(name, rt.namespace, key, workload.get("apiVersion", "apps/v1"), decision.hpa.settings)
        try:
            await self.access.apply_hpa(rt.namespace, name, body)
        except FieldConflict as exc:
            return [condition("HPAManaged", False, "FieldConflict", exc.message[:500],
                              now_rfc3339=rfc3339(decision.now))]
        rt.tuning.apply(decision, containers=[], hpa=True)
        report.hpa_writes += 1
        before, after = decision.hpa.previous, decision.hpa.settings
        self._action(rt, decision.now, f"hpa {name}", describe_hpa(before), describe_hpa(after),
                     ", ".join(decision.hpa.reasons.describe()), reason="HPAUpdated")
        return []

    def _action(self, rt: TunerRuntime, now: int, what: str, before: str, after: str, why: str, *,
                reason: str, type_: str = "Normal") -> None:
        """Record a change in the status's last actions, and as a Kubernetes Event (sent after the cycle)."""
        action = Action(time=rfc3339(now), what=what, from_=before, to=after, why=why[:500])
        rt.actions.append(action)
        del rt.actions[:-MAX_ACTIONS]
        rt.events.append((reason, f"{action.summary()} ({action.why})"[:1000], type_))

    async def _emit_events(self, rt: TunerRuntime) -> None:
        involved = {"kind": "Tuner", "namespace": rt.namespace, "name": rt.name, "uid": rt.uid,
                    "apiVersion": "rikugame.dev/v1alpha1"}
        events, rt.events = rt.events, []
        for reason, message, type_ in events:
            await self.access.emit_event(involved, reason, message, type_)

    # -- publishing ------------------------------------------------------------------------------------
    async def _publish(self, rt: TunerRuntime, decision: WorkloadDecision, now: int, *, halted: bool,
                       missing: bool, pods: int, report: CycleReport, extra: list[Condition]) -> None:
        phase = (Phase.EMERGENCY if decision.mode is UpdateMode.EMERGENCY else
                 Phase.RECOMMENDING if not decision.actuate else
                 Phase.BACK_TO_NORMAL if decision.back_to_normal else Phase.WORKING)
        when = rfc3339(now)
        own = [
            condition("MetricsAvailable", not missing, "MetricsMissing" if missing else "MetricsArrive",
                      "no pod metrics for 5 minutes: behaving as Emergency, nothing shrinks" if missing
                      else "pod metrics arrive", now_rfc3339=when),
            condition("Actuating", decision.actuate and not halted and pods > 0,
                      "KillSwitch" if halted else ("DryRun" if not decision.actuate else "InPlace"),
                      "the kill switch stops all actuation" if halted else
                      ("mode Off: recommendations only" if not decision.actuate else "resizing in place"),
                      now_rfc3339=when),
            *extra,
        ]
        status = status_from_decision(decision, generation=rt.generation, phase=phase, now_rfc3339=when,
                                      previous=rt.status,
                                      target=f"{rt.spec.target_ref.kind}/{rt.spec.target_ref.name}",
                                      conditions=own)
        status = status.model_copy(update={
            "resizes": [t.status() for t in rt.resizes.values()],
            "last_actions": list(rt.actions),
            "last_action": rt.actions[-1].summary()[:200] if rt.actions else None})
        body = status.model_dump(by_alias=True, exclude_none=True, mode="json")
        # Written when something a reader acts on changes (decided values, reasons, phase, conditions,
        # actions), not when only the raw recommendation drifts with each sample: ≤ 1 write per hour and
        # workload in steady state, and watchers of Tuners are not woken every minute.
        comparable = _strip_times({**body, "containers": [{k: v for k, v in c.items() if k != "recommended"}
                                                          for c in body.get("containers", [])],
                                   "hpa": {k: v for k, v in (body.get("hpa") or {}).items() if k != "explanation"}})
        if rt.published == comparable:
            return
        first = rt.published is None
        previous_phase = rt.status.phase if rt.status is not None else None
        await self.access.patch_tuner_status(rt.namespace, rt.name, body)
        rt.published, rt.status = comparable, status
        report.status_writes += 1
        if first or previous_phase != phase:
            rt.events.append(("Phase", f"phase {phase.value}", "Warning" if phase is Phase.EMERGENCY else "Normal"))
        for track in rt.resizes.values():
            track.reported_done = track.state is ResizeState.DONE

    async def _publish_error(self, ns: str, name: str, message: str, report: CycleReport) -> None:
        await self.access.patch_tuner_status(ns, name, {"phase": Phase.ERROR.value, "lastAction": message[:200]})
        report.status_writes += 1
        report.errors.append(f"{ns}/{name}: {message}")

    async def flush_checkpoints(self) -> int:
        """Write every Tuner's checkpoint now (on shutdown: a graceful stop loses no history)."""
        written = 0
        for rt in list(self.tuners.values()):
            owner = {"metadata": {"name": rt.name, "uid": rt.uid}}
            try:
                await self._checkpoint(rt, owner, CycleReport())
                written += 1
            except Exception:
                log.exception("checkpoint of %s/%s not written", rt.namespace, rt.name)
        return written

    async def _checkpoint(self, rt: TunerRuntime, obj: dict[str, Any], report: CycleReport) -> None:
        data = json.dumps(rt.tuning.to_checkpoint(), separators=(",", ":"))
        await self.access.write_checkpoint(rt.namespace, rt.name, obj, data)
        rt.last_checkpoint = self.clock()
        report.checkpoint_writes += 1


def _rollout_in_progress(workload: Mapping[str, Any]) -> bool:
    """Whether the workload's controller has not caught up with its spec yet, or some pods are not updated
    or not available (Deployment, StatefulSet and DaemonSet status fields)."""
    meta, spec, status = workload.get("metadata", {}), workload.get("spec", {}), workload.get("status", {})
    if int(status.get("observedGeneration", 0)) < int(meta.get("generation", 0)):
        return True
    wanted = int(spec.get("replicas", status.get("desiredNumberScheduled", 0)) or 0)
    updated = int(status.get("updatedReplicas", status.get("updatedNumberScheduled", wanted)) or 0)
    unavailable = int(status.get("unavailableReplicas", status.get("numberUnavailable", 0)) or 0)
    return updated < wanted or unavailable > 0


def _raises_memory(current: Mapping[str, ContainerResources], target: Mapping[str, ContainerResources]) -> bool:
    """Whether ``target`` raises any container's memory request (an OOM bump: never waits for a resize)."""
    return any(target[n].memory_request_bytes > c.memory_request_bytes for n, c in current.items() if n in target)


def _drops(target: Mapping[str, ContainerResources], infeasible: Mapping[str, ContainerResources]) -> bool:
    """Whether ``target`` asks for less than the Infeasible size: no request above it, at least one below."""
    pairs = [(target[n], r) for n, r in infeasible.items() if n in target]
    requests = [(t.cpu_request_millicores, r.cpu_request_millicores) for t, r in pairs] + \
               [(t.memory_request_bytes, r.memory_request_bytes) for t, r in pairs]
    return all(a <= b for a, b in requests) and any(a < b for a, b in requests)


def _strip_times(status: dict[str, Any]) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if k not in ("lastTransitionTime", "time")}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(status), sort_keys=True)
