"""Pods as the operator sees them: their workload, container resources, OOM kills; and in-place resize patches.

Pure functions over the API server's JSON (``dict``), so they are unit-tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rikugame.core import quantities
from rikugame.core.workload import ContainerResources

WorkloadKey = tuple[str, str, str]
"""(namespace, kind, name) of a workload."""


@dataclass(frozen=True)
class OOMKill:
    """One OOM kill of a container, identified so it is counted once."""

    pod_uid: str
    container: str
    restart_count: int
    finished_at: str
    limit_bytes: int


def owner_workload(pod: Mapping[str, Any], replicaset_owners: Mapping[tuple[str, str], tuple[str, str]]
                   ) -> WorkloadKey | None:
    """The workload that owns ``pod``: a Deployment through its ReplicaSet, a StatefulSet or DaemonSet directly.

    ``replicaset_owners`` maps (namespace, ReplicaSet name) to the (kind, name) of its controller.
    """
    meta = pod.get("metadata", {})
    namespace = meta.get("namespace", "")
    for ref in meta.get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        kind, name = ref.get("kind", ""), ref.get("name", "")
        if kind == "ReplicaSet":
            owner = replicaset_owners.get((namespace, name))
            return (namespace, owner[0], owner[1]) if owner else None
        return namespace, kind, name
    return None


def _quantity(resources: Mapping[str, Any], section: str, resource: str, parse: Any) -> int:
    value = (resources.get(section) or {}).get(resource)
    return -1 if value is None else int(parse(value))


def container_resources(container: Mapping[str, Any]) -> ContainerResources:
    """Requests and limits of a container spec in integer units (-1 = not set)."""
    r = container.get("resources") or {}
    return ContainerResources(
        _quantity(r, "requests", "cpu", quantities.cpu_millicores),
        _quantity(r, "requests", "memory", quantities.memory_bytes),
        _quantity(r, "limits", "cpu", quantities.cpu_millicores),
        _quantity(r, "limits", "memory", quantities.memory_bytes))


def pod_resources(pod: Mapping[str, Any]) -> dict[str, ContainerResources]:
    """Every container's requests and limits as the pod spec says (what a resize changes)."""
    return {c["name"]: container_resources(c) for c in pod.get("spec", {}).get("containers", [])}


def oom_kills(pod: Mapping[str, Any]) -> list[OOMKill]:
    """Containers whose last termination was an OOM kill (``lastState.terminated.reason: OOMKilled``)."""
    limits = pod_resources(pod)
    out = []
    for status in pod.get("status", {}).get("containerStatuses") or []:
        terminated = (status.get("lastState") or {}).get("terminated") or {}
        if terminated.get("reason") != "OOMKilled":
            continue
        name = status.get("name", "")
        limit = limits.get(name, ContainerResources()).memory_limit_bytes
        out.append(OOMKill(pod.get("metadata", {}).get("uid", ""), name, int(status.get("restartCount", 0)),
                           str(terminated.get("finishedAt", "")), limit))
    return out


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """Running with condition Ready=True."""
    status = pod.get("status", {})
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def qos_class(resources: Mapping[str, ContainerResources]) -> str:
    """Guaranteed (every container: requests = limits for CPU and memory), BestEffort (nothing set), else
    Burstable (kubernetes: pkg/apis/core/v1/helper/qos)."""
    values = list(resources.values())
    if all(v == ContainerResources() for v in values):
        return "BestEffort"
    if all(v.cpu_limit_millicores >= 0 and v.memory_limit_bytes >= 0
           and v.cpu_request_millicores in (-1, v.cpu_limit_millicores)
           and v.memory_request_bytes in (-1, v.memory_limit_bytes) for v in values):
        return "Guaranteed"
    return "Burstable"


def resize_target(current: Mapping[str, ContainerResources], decided: Mapping[str, ContainerResources]
                  ) -> dict[str, ContainerResources]:
    """What each container should have after an in-place resize, within what the API allows.

    Never adds or removes a request or limit (only values that exist change), keeps a Guaranteed pod
    Guaranteed (limits follow requests), never lowers a limit below its request, and keeps a memory
    limit from going down (a lowered memory limit can kill a container using more than the new limit).
    """
    guaranteed = qos_class(current) == "Guaranteed"
    out: dict[str, ContainerResources] = {}
    for name, cur in current.items():
        want = decided.get(name)
        if want is None:
            out[name] = cur
            continue
        cpu = want.cpu_request_millicores if cur.cpu_request_millicores >= 0 and want.cpu_request_millicores > 0 \
            else cur.cpu_request_millicores
        mem = want.memory_request_bytes if cur.memory_request_bytes >= 0 and want.memory_request_bytes > 0 \
            else cur.memory_request_bytes
        cpu_lim, mem_lim = cur.cpu_limit_millicores, cur.memory_limit_bytes
        if guaranteed:
            cpu_lim = cpu if cpu >= 0 else cpu_lim
            mem_lim = max(mem, cur.memory_limit_bytes) if mem >= 0 else mem_lim
            mem = mem_lim if cur.memory_request_bytes >= 0 else mem
        else:
            if cpu_lim >= 0:
                cpu_lim = max(cpu, want.cpu_limit_millicores if want.cpu_limit_millicores >= 0 else cpu_lim)
            if mem_lim >= 0:
                mem_lim = max(mem, cur.memory_limit_bytes,
                              want.memory_limit_bytes if want.memory_limit_bytes >= 0 else -1)
        out[name] = ContainerResources(cpu, mem, cpu_lim, mem_lim)
    return out


def resize_patch(current: Mapping[str, ContainerResources], target: Mapping[str, ContainerResources]
                 ) -> dict[str, Any] | None:
    """The ``pods/resize`` strategic-merge patch moving every changed container at once (None: nothing)."""
    containers = []
    for name, cur in current.items():
        want = target[name]
        if want == cur:
            continue
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        if want.cpu_request_millicores >= 0:
            requests["cpu"] = quantities.format_cpu(want.cpu_request_millicores)
        if want.memory_request_bytes >= 0:
            requests["memory"] = quantities.format_memory(want.memory_request_bytes)
        if want.cpu_limit_millicores >= 0:
            limits["cpu"] = quantities.format_cpu(want.cpu_limit_millicores)
        if want.memory_limit_bytes >= 0:
            limits["memory"] = quantities.format_memory(want.memory_limit_bytes)
        resources: dict[str, Any] = {}
        if requests:
            resources["requests"] = requests
        if limits:
            resources["limits"] = limits
        containers.append({"name": name, "resources": resources})
    return {"spec": {"containers": containers}} if containers else None


def status_resources(pod: Mapping[str, Any]) -> dict[str, ContainerResources]:
    """Every container's requests and limits as the kubelet reports them applied
    (``status.containerStatuses[].resources``; containers that report none are left out)."""
    out = {}
    for status in pod.get("status", {}).get("containerStatuses") or []:
        if status.get("resources") is not None:
            out[status.get("name", "")] = container_resources(status)
    return out


def resize_progress(pod: Mapping[str, Any], generation: int) -> tuple[str, str | None]:
    """Where the resize sent as pod ``generation`` stands, and what the kubelet said.

    From the pod's conditions (kubernetes 1.33+: ``PodResizePending`` with reason ``Deferred`` or
    ``Infeasible``; ``PodResizeInProgress``, reason ``Error`` when it failed) and, for completion, the
    kubelet's ``status.observedGeneration`` having reached ``generation`` with every container's reported
    resources equal to the spec. Returns one of Pending, Deferred, Infeasible, InProgress, Done, Error
    (the names of ``core.tuner_status.ResizeState``).
    """
    status = pod.get("status", {})
    for c in status.get("conditions") or []:
        if c.get("status") != "True":
            continue
        if c.get("type") == "PodResizePending":
            reason = c.get("reason") or "Deferred"
            return ("Infeasible" if reason == "Infeasible" else "Deferred"), c.get("message")
        if c.get("type") == "PodResizeInProgress":
            return ("Error" if c.get("reason") == "Error" else "InProgress"), c.get("message")
    observed = status.get("observedGeneration")
    applied = status_resources(pod)
    wanted = pod_resources(pod)
    caught_up = observed is None or int(observed) >= generation
    if caught_up and applied and all(applied.get(name) == res for name, res in wanted.items()):
        return "Done", None
    return "Pending", None


def restart_required(pod: Mapping[str, Any], current: Mapping[str, ContainerResources],
                     target: Mapping[str, ContainerResources]) -> str | None:
    """Why resizing ``pod`` from ``current`` to ``target`` would restart a container (its ``resizePolicy``
    says ``RestartContainer`` for a resource that changes), or None when it is a true in-place resize."""
    for container in pod.get("spec", {}).get("containers", []):
        name = container.get("name", "")
        cur, want = current.get(name), target.get(name)
        if cur is None or want is None or cur == want:
            continue
        changed = {"cpu": (cur.cpu_request_millicores, cur.cpu_limit_millicores)
                   != (want.cpu_request_millicores, want.cpu_limit_millicores),
                   "memory": (cur.memory_request_bytes, cur.memory_limit_bytes)
                   != (want.memory_request_bytes, want.memory_limit_bytes)}
        for policy in container.get("resizePolicy") or []:
            resource = policy.get("resourceName", "")
            if policy.get("restartPolicy") == "RestartContainer" and changed.get(resource):
                return f"container {name} restarts on a {resource} resize (resizePolicy RestartContainer)"
    return None
