"""Workloads from kube-state-metrics (no Kubernetes API): owners, containers, settings, OOM kills, HPAs.

Every pod seen during the history window counts, so pods that were replaced are not lost. Which pods
existed (owner series) comes from the series API — the index, no sample loaded; settings come from the
newest hour, older spans only for workloads still without settings. Prometheus' memory per query grows with
the samples a query loads (on the bench fleet a ``[1d]`` owner query costs it 18 MiB, ``[14d]`` 74 MiB, the
series API 13 MiB for all 14 days), so no query loads days of every pod's series.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.sources.prometheus import FloatArray, IntArray, PrometheusClient, Series
from rikugame.sources.promql import Scope, duration, escape, selector


@dataclass(frozen=True)
class ContainerKey:
    """A container of a workload: the unit the report gives one recommendation for."""

    cluster: str
    namespace: str
    kind: str
    workload: str
    container: str


@dataclass
class Fleet:
    """Workload containers found in kube-state-metrics, with current settings (-1 = not set)."""

    containers: list[ContainerKey] = field(default_factory=list)
    pods: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(cluster, namespace, pod) → workload identity ``kind/name``."""
    cpu_request_millicores: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    memory_request_bytes: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    cpu_limit_millicores: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    memory_limit_bytes: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    replicas: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Pods of the workload running at the end of the window."""
    oom_rows: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    oom_timestamps: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    oom_limit_bytes: FloatArray = field(default_factory=lambda: np.zeros(0, np.float64))
    hpa_metrics: dict[tuple[str, str, str, str], set[str]] = field(default_factory=dict)
    """(cluster, namespace, kind, workload) → resources an HPA scales on (``cpu``, ``memory``, ``other``)."""
    index: dict[ContainerKey, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.containers)

    def row(self, cluster: str, namespace: str, pod: str, container: str) -> int:
        """Row of a pod's container, or -1 when the pod belongs to no known workload."""
        owner = self.pods.get((cluster, namespace, pod))
        if owner is None:
            return -1
        kind, name = owner.split("/", 1)
        return self.index.get(ContainerKey(cluster, namespace, kind, name, container), -1)

    def pods_by_namespace(self) -> dict[tuple[str, str], list[str]]:
        """Pods of known workloads grouped by (cluster, namespace), sorted."""
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for (cluster, namespace, pod) in self.pods:
            grouped[(cluster, namespace)].append(pod)
        return {k: sorted(v) for k, v in sorted(grouped.items())}


def cluster_of(labels: dict[str, str], scope: Scope) -> str:
    """The value of the scope's cluster label on a series ("" without a cluster label)."""
    return labels.get(scope.cluster_label, "") if scope.cluster_label else ""


SETTINGS_SPANS = (3600, 23 * 3600)
"""Settings (requests, limits, containers, HPAs) are read from the newest hour first, then the rest of the
newest day, then one day at a time, and only while some workload still has none (its pods all ended
earlier in the window)."""
PRESENCE_LABELS = {"pod_owner": ("namespace", "pod", "owner_kind", "owner_name"),
                   "rs_owner": ("namespace", "replicaset", "owner_kind", "owner_name"),
                   "job_owner": ("namespace", "job_name", "owner_kind", "owner_name"),
                   "selected": ("namespace", "pod")}


def _series_key(s: Series) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(s.labels.items()))


def settings_spans(end: int, history_seconds: int, first: Sequence[int] = SETTINGS_SPANS,
                   day: int = 86400) -> list[tuple[int, int]]:
    """(evaluation time, range) of the settings reads, newest first, covering the history (pure)."""
    spans: list[tuple[int, int]] = []
    t = end
    lengths = iter(first)
    while t > end - history_seconds:
        length = min(next(lengths, day), t - (end - history_seconds))
        spans.append((t, length))
        t -= length
    return spans


async def discover(prom: PrometheusClient, scope: Scope, *, end: int, history_seconds: int,
                   kinds: frozenset[str] | None = None) -> Fleet:
    """Workloads, their containers and current settings from kube-state-metrics, over the history
    ending at ``end`` (every pod seen counts; the newest value of a setting wins)."""
    m = scope.matchers()
    by = scope.group_labels()

    def over(metric: str, labels: str, *extra: str, fn: str = "last_over_time") -> Callable[[str], str]:
        return lambda rng: f"max by ({by}{labels}) ({fn}({selector(metric, *m, *extra)}[{rng}]))"

    settings: dict[str, Callable[[str], str]] = {
        "requests": over("kube_pod_container_resource_requests", "namespace, pod, container, resource",
                         'resource=~"cpu|memory"'),
        "limits": over("kube_pod_container_resource_limits", "namespace, pod, container, resource",
                       'resource=~"cpu|memory"'),
        "container_info": over("kube_pod_container_info", "namespace, pod, container", fn="max_over_time"),
        "hpa": over("kube_horizontalpodautoscaler_info",
                    "namespace, horizontalpodautoscaler, scaletargetref_kind, scaletargetref_name"),
        "hpa_metric": over("kube_horizontalpodautoscaler_spec_target_metric",
                           "namespace, horizontalpodautoscaler, metric_name"),
    }
    presence = {"pod_owner": selector("kube_pod_owner", *m), "rs_owner": selector("kube_replicaset_owner", *m),
                "job_owner": selector("kube_job_owner", *m)}
    if scope.pod_selector:
        label_matchers = [f'label_{re.sub(r"[^a-zA-Z0-9_]", "_", k)}{op}"{escape(v)}"'
                          for k, op, v in scope.pod_selector]
        presence["selected"] = selector("kube_pod_labels", *m, *label_matchers)
    oom_selector = selector("kube_pod_container_status_last_terminated_reason", *m, 'reason="OOMKilled"')
    single: dict[str, str] = {
        "running": over("kube_pod_status_phase", "namespace, pod", 'phase="Running"')("30m"),
        # First time the OOMKilled reason was seen in the window (≈ the kill, at 5-minute resolution).
        "oom": f"min by ({by}namespace, pod, container) (min_over_time(timestamp({oom_selector} == 1)"
               f"[{duration(history_seconds)}:5m]))",
    }
    spans = settings_spans(end, history_seconds)
    merged: dict[str, dict[tuple[tuple[str, str], ...], Series]] = defaultdict(dict)
    present = np.zeros(0, np.float64)

    async def owners(name: str, sel: str) -> None:
        keep = (*((scope.cluster_label,) if scope.cluster_label else ()), *PRESENCE_LABELS[name])
        found = merged[name]  # present even when empty: a pod selector that matches nothing selects nothing
        for labels in await prom.series([sel], end - history_seconds, end):
            series = Series({k: labels[k] for k in keep if k in labels}, present.astype(np.int64), present)
            found.setdefault(_series_key(series), series)

    async def run(jobs: Sequence[tuple[str, str, int]],
                  wanted: Callable[[str, Series], bool] = lambda name, series: True) -> None:
        answers = await asyncio.gather(*(prom.query(promql, at) for _, promql, at in jobs))
        for (name, _, _), series_list in zip(jobs, answers, strict=True):
            for series in series_list:
                if wanted(name, series):
                    merged[name].setdefault(_series_key(series), series)  # the newest span comes first

    first_jobs = [(name, build(duration(spans[0][1])), spans[0][0]) for name, build in settings.items()]
    first_jobs += [(name, promql, end) for name, promql in single.items()]
    await asyncio.gather(*(owners(name, sel) for name, sel in presence.items()), run(first_jobs))

    def results() -> dict[str, list[Series]]:
        return {name: list(v.values()) for name, v in merged.items()}

    for at, length in spans[1:]:
        fleet = build_fleet(results(), scope, kinds=kinds)
        missing = {(k.cluster, k.namespace, k.kind, k.workload) for k in fleet.containers if not k.container}
        if not missing:
            return fleet

        def of_missing(name: str, series: Series, fleet: Fleet = fleet, missing: set[Any] = missing) -> bool:
            # An older span only fills in workloads without settings: the others keep their newest ones
            # (a rollout's old pods must not raise the current request).
            c, lb = cluster_of(series.labels, scope), series.labels
            if name in ("hpa", "hpa_metric"):
                return name == "hpa_metric" or (c, lb.get("namespace", ""), lb.get("scaletargetref_kind", ""),
                                                lb.get("scaletargetref_name", "")) in missing
            owner = fleet.pods.get((c, lb.get("namespace", ""), lb.get("pod", "")))
            return owner is not None and (c, lb.get("namespace", ""), *owner.split("/", 1)) in missing

        await run([(name, build(duration(length)), at) for name, build in settings.items()], of_missing)
    return build_fleet(results(), scope, kinds=kinds)


def build_fleet(results: dict[str, list[Series]], scope: Scope, *,
                kinds: frozenset[str] | None = None) -> Fleet:
    """Assemble the fleet from the discovery query results (pure; see :func:`discover`)."""
    def lab(s: Series) -> tuple[str, dict[str, str]]:
        return cluster_of(s.labels, scope), s.labels

    rs_owner: dict[tuple[str, str, str], tuple[str, str]] = {}
    for s in results.get("rs_owner", []):
        c, lb = lab(s)
        if lb.get("owner_kind") and lb.get("owner_kind") != "<none>":
            rs_owner[(c, lb["namespace"], lb["replicaset"])] = (lb["owner_kind"], lb["owner_name"])
    job_owner: dict[tuple[str, str, str], tuple[str, str]] = {}
    for s in results.get("job_owner", []):
        c, lb = lab(s)
        if lb.get("owner_kind") and lb.get("owner_kind") != "<none>":
            job_owner[(c, lb["namespace"], lb["job_name"])] = (lb["owner_kind"], lb["owner_name"])
    selected: set[tuple[str, str, str]] | None = None
    if "selected" in results:
        selected = {(cluster_of(s.labels, scope), s.labels["namespace"], s.labels["pod"])
                    for s in results["selected"]}

    fleet = Fleet()
    for s in results.get("pod_owner", []):
        c, lb = lab(s)
        ns, pod, kind, name = lb.get("namespace", ""), lb.get("pod", ""), lb.get("owner_kind", ""), \
            lb.get("owner_name", "")
        if not kind or kind == "<none>" or (selected is not None and (c, ns, pod) not in selected):
            continue
        if kind == "ReplicaSet":
            kind, name = rs_owner.get((c, ns, name), ("ReplicaSet", name))
        elif kind == "Job":
            kind, name = job_owner.get((c, ns, name), ("Job", name))
        if kinds is not None and kind not in kinds:
            continue
        fleet.pods[(c, ns, pod)] = f"{kind}/{name}"

    # Containers come from the request/limit series (a container without any has nothing to compare).
    settings: dict[ContainerKey, dict[str, float]] = defaultdict(dict)
    seen_pod_container: set[tuple[str, str, str, str]] = set()
    for what in ("container_info", "requests", "limits"):
        for s in results.get(what, []):
            c, lb = lab(s)
            owner = fleet.pods.get((c, lb.get("namespace", ""), lb.get("pod", "")))
            if owner is None or not lb.get("container"):
                continue
            kind, name = owner.split("/", 1)
            key = ContainerKey(c, lb["namespace"], kind, name, lb["container"])
            if what == "container_info":
                settings.setdefault(key, {})
                continue
            slot = f"{what}_{lb.get('resource')}"
            settings[key][slot] = max(settings[key].get(slot, 0.0), float(s.values[-1]))
            seen_pod_container.add((c, lb["namespace"], lb["pod"], lb["container"]))
    # Workloads with no request/limit series at all still get a row per container seen in usage later;
    # here they get a placeholder "app" row only if nothing else is known, so they are not silently lost.
    workloads_with_containers = {(k.cluster, k.namespace, k.kind, k.workload) for k in settings}
    for (c, ns, _pod), owner in fleet.pods.items():
        kind, name = owner.split("/", 1)
        if (c, ns, kind, name) not in workloads_with_containers:
            settings[ContainerKey(c, ns, kind, name, "")] = {}
            workloads_with_containers.add((c, ns, kind, name))

    fleet.containers = sorted(settings,
                              key=lambda k: (k.cluster, k.namespace, k.kind, k.workload, k.container))
    fleet.index = {k: i for i, k in enumerate(fleet.containers)}
    n = len(fleet.containers)

    def column(slot: str, scale: float) -> IntArray:
        return np.array([int(np.ceil(round(settings[k][slot] * scale, 6))) if slot in settings[k] else -1
                         for k in fleet.containers], dtype=np.int64)

    fleet.cpu_request_millicores = column("requests_cpu", 1000.0)
    fleet.memory_request_bytes = column("requests_memory", 1.0)
    fleet.cpu_limit_millicores = column("limits_cpu", 1000.0)
    fleet.memory_limit_bytes = column("limits_memory", 1.0)

    running: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for s in results.get("running", []):
        c, lb = lab(s)
        owner = fleet.pods.get((c, lb.get("namespace", ""), lb.get("pod", "")))
        if owner is not None and s.values[-1] > 0:
            kind, name = owner.split("/", 1)
            running[(c, lb["namespace"], kind, name)] += 1
    fleet.replicas = np.array([running.get((k.cluster, k.namespace, k.kind, k.workload), 0)
                               for k in fleet.containers], dtype=np.int64).reshape(n)

    oom_rows, oom_ts, oom_limit = [], [], []
    for s in results.get("oom", []):
        c, lb = lab(s)
        row = fleet.row(c, lb.get("namespace", ""), lb.get("pod", ""), lb.get("container", ""))
        if row >= 0:
            oom_rows.append(row)
            oom_ts.append(int(s.values[-1]))
            limit = fleet.memory_limit_bytes[row]
            oom_limit.append(float(limit if limit > 0 else max(fleet.memory_request_bytes[row], 0)))
    order = np.lexsort((np.array(oom_ts, dtype=np.int64), np.array(oom_rows, dtype=np.int64)))
    fleet.oom_rows = np.array(oom_rows, dtype=np.int64)[order]
    fleet.oom_timestamps = np.array(oom_ts, dtype=np.int64)[order]
    fleet.oom_limit_bytes = np.array(oom_limit, dtype=np.float64)[order]

    hpa_target: dict[tuple[str, str, str], tuple[str, str]] = {}
    for s in results.get("hpa", []):
        c, lb = lab(s)
        hpa_target[(c, lb.get("namespace", ""), lb.get("horizontalpodautoscaler", ""))] = (
            lb.get("scaletargetref_kind", ""), lb.get("scaletargetref_name", ""))
    for s in results.get("hpa_metric", []):
        c, lb = lab(s)
        target = hpa_target.get((c, lb.get("namespace", ""), lb.get("horizontalpodautoscaler", "")))
        if target is None:
            continue
        metric = lb.get("metric_name", "")
        resource = metric if metric in ("cpu", "memory") else "other"
        fleet.hpa_metrics.setdefault((c, lb["namespace"], target[0], target[1]), set()).add(resource)
    return fleet


# ----------------------------------------------------------------------------------------------- batches


