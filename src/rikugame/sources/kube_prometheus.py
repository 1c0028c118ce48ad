"""Workloads and their usage history from Prometheus: kube-state-metrics + cAdvisor (no Kubernetes API).

* **Workloads** come from kube-state-metrics: ``kube_pod_owner`` (pod → ReplicaSet/StatefulSet/DaemonSet/
  Job), ``kube_replicaset_owner`` / ``kube_job_owner`` (→ Deployment / CronJob), container requests and
  limits, running pods, OOM kills and HPAs. Every pod seen during the history window counts, so pods
  that were replaced are not lost.
* **Usage** comes from cAdvisor's ``container_cpu_usage_seconds_total`` (per-pod ``rate`` over
  ``rate_window``) and ``container_memory_working_set_bytes``. Queries aggregate server-side and run per
  *batch* of namespaces/pods (one query per metric per batch, never one per pod), so no query comes near
  Prometheus' ``--query.max-samples``; batches run concurrently (bounded by the client).

Two ways to feed the core, both per batch so memory stays flat as history grows:

* :func:`fetch_summaries`: the window statistics a hard-window recommender needs (exact per-pod CPU
  percentile via ``quantile_over_time`` over a ``rate`` subquery, memory maximum, sample count and span),
  computed by Prometheus — a few numbers per container whatever the history length.
* :func:`stream_samples`: per-pod usage samples every ``step`` (CPU rate, memory max over the step so
  no peak is lost), in chronological time chunks that go straight into the core's histograms.

All queries are evaluated at an explicit ``end`` (the report's "now"), never at the server's clock.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rikugame.sources.prometheus import FloatArray, IntArray, PrometheusClient, Series

CONTAINER_FILTER = 'container!="",container!="POD"'
MAX_POINTS_PER_SERIES = 10_000
"""Prometheus refuses a range query with more than 11,000 points per series."""


@dataclass(frozen=True)
class Scope:
    """Which part of the (possibly multi-cluster) Prometheus to read."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to read (empty = all)."""
    pod_selector: tuple[tuple[str, str, str], ...] = ()
    """Pod label matchers (label, op, value) read from ``kube_pod_labels`` (op ``=`` or ``!=``)."""
    cluster_label: str | None = None
    cluster: str | None = None

    def matchers(self, *, namespace_label: str = "namespace") -> list[str]:
        """PromQL matchers for the cluster and namespace scope."""
        out: list[str] = []
        if self.cluster_label and self.cluster is not None:
            out.append(f'{self.cluster_label}="{escape(self.cluster)}"')
        if self.namespaces:
            out.append(f'{namespace_label}=~"{alternation(self.namespaces)}"')
        return out

    def group_labels(self) -> str:
        """Extra ``by`` labels so series from different clusters never merge."""
        return f"{self.cluster_label}, " if self.cluster_label else ""


def escape(value: str) -> str:
    """A string as the inside of a PromQL double-quoted literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def alternation(values: Iterable[str]) -> str:
    """A regex matching exactly these values (RE2 metacharacters escaped), for ``label=~"…"``."""
    return escape("|".join(re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", v) for v in sorted(set(values))))


def selector(metric: str, *matchers: str) -> str:
    """``metric{m1,m2,…}``."""
    inner = ",".join(m for m in matchers if m)
    return f"{metric}{{{inner}}}"


def duration(seconds: int) -> str:
    """Seconds as a PromQL duration (``14d``, ``90m``, ``45s``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_duration(text: str) -> int:
    """``14d``, ``36h``, ``90m``, ``30s``, ``1h30m`` → seconds (ValueError when unreadable)."""
    parts = re.fullmatch(r"\s*((?:\d+(?:\.\d+)?[wdhms]\s*)+)\s*", text)
    if not parts:
        raise ValueError(f"not a duration: {text!r} (examples: 14d, 36h, 90m, 30s)")
    sizes = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    total = sum(float(n) * sizes[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([wdhms])", parts.group(1)))
    if total <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return round(total)


# ----------------------------------------------------------------------------------------------- workloads


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


def _cluster(labels: dict[str, str], scope: Scope) -> str:
    return labels.get(scope.cluster_label, "") if scope.cluster_label else ""


DISCOVERY_CHUNK_SECONDS = 86400
"""kube-state-metrics series are read one day at a time: a ``[14d]`` range over every pod's request
series at a 30-60 s scrape interval would load tens of millions of samples in one query."""


def _series_key(s: Series) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(s.labels.items()))


async def discover(prom: PrometheusClient, scope: Scope, *, end: int, history_seconds: int,
                   kinds: frozenset[str] | None = None,
                   chunk_seconds: int = DISCOVERY_CHUNK_SECONDS) -> Fleet:
    """Workloads, their containers and current settings from kube-state-metrics, over the history
    ending at ``end`` (every pod seen counts; the newest value of a setting wins)."""
    m = scope.matchers()
    by = scope.group_labels()

    def over(metric: str, labels: str, *extra: str, fn: str = "last_over_time") -> Callable[[str], str]:
        return lambda rng: f"max by ({by}{labels}) ({fn}({selector(metric, *m, *extra)}[{rng}]))"

    ranged: dict[str, Callable[[str], str]] = {
        "pod_owner": over("kube_pod_owner", "namespace, pod, owner_kind, owner_name", fn="max_over_time"),
        "rs_owner": over("kube_replicaset_owner", "namespace, replicaset, owner_kind, owner_name",
                         fn="max_over_time"),
        "job_owner": over("kube_job_owner", "namespace, job_name, owner_kind, owner_name",
                          fn="max_over_time"),
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
    if scope.pod_selector:
        label_matchers = [f'label_{re.sub(r"[^a-zA-Z0-9_]", "_", k)}{op}"{escape(v)}"'
                          for k, op, v in scope.pod_selector]
        ranged["selected"] = over("kube_pod_labels", "namespace, pod", *label_matchers, fn="max_over_time")
    oom_selector = selector("kube_pod_container_status_last_terminated_reason", *m, 'reason="OOMKilled"')
    single: dict[str, str] = {
        "running": over("kube_pod_status_phase", "namespace, pod", 'phase="Running"')("30m"),
        # First time the OOMKilled reason was seen in the window (≈ the kill, at 5-minute resolution).
        "oom": f"min by ({by}namespace, pod, container) (min_over_time(timestamp({oom_selector} == 1)"
               f"[{duration(history_seconds)}:5m]))",
    }
    # Chunks from the newest to the oldest: (evaluation time, range).
    chunks: list[tuple[int, int]] = []
    t = end
    while t > end - history_seconds:
        length = min(chunk_seconds, t - (end - history_seconds))
        chunks.append((t, length))
        t -= length
    # Which pods existed needs every chunk; settings need only the newest chunk that has them, so older
    # chunks are read for settings only while some workload still has none (e.g. it has no pod now).
    presence = {name: ranged[name] for name in ("pod_owner", "rs_owner", "job_owner", "selected")
                if name in ranged}
    settings = {name: build for name, build in ranged.items() if name not in presence}
    merged: dict[str, dict[tuple[tuple[str, str], ...], Series]] = defaultdict(dict)

    async def run(jobs: list[tuple[str, str, int]]) -> None:
        answers = await asyncio.gather(*(prom.query(promql, at) for _, promql, at in jobs))
        for (name, _, _), series_list in zip(jobs, answers, strict=True):
            for series in series_list:
                merged[name].setdefault(_series_key(series), series)  # the newest chunk comes first

    first_jobs = [(name, build(duration(length)), at) for name, build in presence.items() for at, length in chunks]
    first_jobs += [(name, build(duration(chunks[0][1])), chunks[0][0]) for name, build in settings.items()]
    first_jobs += [(name, promql, end) for name, promql in single.items()]
    await run(first_jobs)

    def results() -> dict[str, list[Series]]:
        return {name: list(v.values()) for name, v in merged.items()}

    for at, length in chunks[1:]:
        fleet = build_fleet(results(), scope, kinds=kinds)
        if all(k.container for k in fleet.containers):
            return fleet
        await run([(name, build(duration(length)), at) for name, build in settings.items()])
    return build_fleet(results(), scope, kinds=kinds)


def build_fleet(results: dict[str, list[Series]], scope: Scope, *,
                kinds: frozenset[str] | None = None) -> Fleet:
    """Assemble the fleet from the discovery query results (pure; see :func:`discover`)."""
    def lab(s: Series) -> tuple[str, dict[str, str]]:
        return _cluster(s.labels, scope), s.labels

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
        selected = {(_cluster(s.labels, scope), s.labels["namespace"], s.labels["pod"])
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


@dataclass(frozen=True)
class Batch:
    """One slice of the fleet queried together: matchers selecting its pods."""

    cluster: str
    matchers: tuple[str, ...]
    pods: int


def plan_batches(fleet: Fleet, scope: Scope, *, max_pods: int = 250) -> list[Batch]:
    """Group pods into query batches of at most ``max_pods``: whole namespaces where they fit (small
    namespaces share a batch), pod-name regexes (sent in POST bodies) inside large namespaces."""
    batches: list[Batch] = []
    pending: dict[str, list[tuple[str, int]]] = defaultdict(list)

    def cluster_matcher(cluster: str) -> tuple[str, ...]:
        if scope.cluster_label:
            return (f'{scope.cluster_label}="{escape(cluster)}"',)
        return ()

    def flush(cluster: str) -> None:
        group = pending.pop(cluster, [])
        if group:
            names = [ns for ns, _ in group]
            batches.append(Batch(cluster, (*cluster_matcher(cluster), f'namespace=~"{alternation(names)}"'),
                                 sum(n for _, n in group)))

    for (cluster, namespace), pods in fleet.pods_by_namespace().items():
        if len(pods) > max_pods:
            for i in range(0, len(pods), max_pods):
                chunk = pods[i:i + max_pods]
                batches.append(Batch(cluster, (*cluster_matcher(cluster), f'namespace="{escape(namespace)}"',
                                               f'pod=~"{alternation(chunk)}"'), len(chunk)))
            continue
        if sum(n for _, n in pending[cluster]) + len(pods) > max_pods:
            flush(cluster)
        pending[cluster].append((namespace, len(pods)))
    for cluster in list(pending):
        flush(cluster)
    return batches


# ----------------------------------------------------------------------------------------------- usage


@dataclass(frozen=True)
class UsageQueries:
    """How usage is read from cAdvisor metrics."""

    rate_window_seconds: int = 300
    resolution_seconds: int = 60
    """Subquery resolution / range-query step."""
    cpu_metric: str = "container_cpu_usage_seconds_total"
    memory_metric: str = "container_memory_working_set_bytes"

    def cpu_rate(self, batch: Batch, by: str) -> str:
        """Per-pod CPU cores: the rate of the usage counter (max over duplicate series)."""
        sel = selector(self.cpu_metric, *batch.matchers, CONTAINER_FILTER)
        return f"max by ({by}namespace, pod, container) (rate({sel}[{duration(self.rate_window_seconds)}]))"

    def cpu_quantile(self, batch: Batch, by: str, q: float, history_seconds: int) -> str:
        """Per-pod CPU percentile of the ``rate`` over the history (KRR's definition, batched).

        The percentile is taken per raw series and the ``max by`` pod/container applied *outside* the
        subquery: aggregating inside costs Prometheus about 5× more (an aggregation at every one of the
        20,160 steps of 14 days at 1 minute). The result differs from KRR's only when one container has
        several series at once (duplicate scrapes; cAdvisor's per-restart ``id``): then the largest
        per-series percentile is taken."""
        sel = selector(self.cpu_metric, *batch.matchers, CONTAINER_FILTER)
        return (f"max by ({by}namespace, pod, container) (quantile_over_time({q:g}, "
                f"rate({sel}[{duration(self.rate_window_seconds)}])"
                f"[{duration(history_seconds)}:{duration(self.resolution_seconds)}]))")

    def memory(self, batch: Batch, by: str, fn: str, history_seconds: int) -> str:
        """``fn``_over_time of the working set per pod over the history (``max``, ``count``)."""
        sel = selector(self.memory_metric, *batch.matchers, CONTAINER_FILTER)
        return f"max by ({by}namespace, pod, container) ({fn}_over_time({sel}[{duration(history_seconds)}]))"

    def memory_counts(self, batch: Batch, by: str, bin_seconds: int) -> str:
        """Working-set samples per pod in each ``bin_seconds`` bin (a range query at that step): gives the
        sample count, and the first/last sample time to a fraction of a bin, in one cheap query."""
        sel = selector(self.memory_metric, *batch.matchers, CONTAINER_FILTER)
        return f"max by ({by}namespace, pod, container) (count_over_time({sel}[{duration(bin_seconds)}]))"

    def memory_step_max(self, batch: Batch, by: str, step_seconds: int) -> str:
        """Per-pod working-set maximum over each step (no peak between steps is lost)."""
        sel = selector(self.memory_metric, *batch.matchers, CONTAINER_FILTER)
        return f"max by ({by}namespace, pod, container) (max_over_time({sel}[{duration(step_seconds)}]))"


@dataclass
class PodStatistics:
    """Window statistics per workload-container row, reduced over the row's pods."""

    cpu_percentile_cores: FloatArray
    memory_max_bytes: FloatArray
    sample_count: IntArray
    first: IntArray
    last: IntArray
    pods_seen: IntArray


def _rows_of(fleet: Fleet, scope: Scope, series: Sequence[Series]) -> IntArray:
    return np.array([fleet.row(_cluster(s.labels, scope), s.labels.get("namespace", ""),
                               s.labels.get("pod", ""), s.labels.get("container", "")) for s in series],
                    dtype=np.int64)


async def fetch_summaries(prom: PrometheusClient, fleet: Fleet, scope: Scope, queries: UsageQueries, *,
                          end: int, history_seconds: int, cpu_percentile: float,
                          batches: Sequence[Batch],
                          on_batch: Callable[[int], None] | None = None) -> PodStatistics:
    """Exact window statistics per row: max over pods of each pod's CPU percentile (KRR's definition),
    the memory maximum, the number of memory samples and the first/last sample time."""
    n = len(fleet)
    stats = PodStatistics(cpu_percentile_cores=np.full(n, np.nan), memory_max_bytes=np.full(n, np.nan),
                          sample_count=np.zeros(n, np.int64), first=np.full(n, -1, np.int64),
                          last=np.full(n, -1, np.int64), pods_seen=np.zeros(n, np.int64))
    by = scope.group_labels()

    bin_seconds = 3600 if history_seconds >= 86400 else 300
    first_bin = end - history_seconds + bin_seconds

    async def one(batch: Batch) -> None:
        cpu, mem, bins = await asyncio.gather(
            prom.query(queries.cpu_quantile(batch, by, cpu_percentile, history_seconds), end),
            prom.query(queries.memory(batch, by, "max", history_seconds), end),
            prom.query_range(queries.memory_counts(batch, by, bin_seconds), first_bin, end, bin_seconds))
        _reduce(stats.cpu_percentile_cores, _rows_of(fleet, scope, cpu), cpu, np.fmax)
        _reduce(stats.memory_max_bytes, _rows_of(fleet, scope, mem), mem, np.fmax)
        rows = _rows_of(fleet, scope, bins)
        for series, row in zip(bins, rows, strict=True):
            if row < 0:
                continue
            count, first, last = coverage_from_bins(series.timestamps, series.values, bin_seconds)
            if count == 0:
                continue
            stats.sample_count[row] += count
            stats.pods_seen[row] += 1
            stats.first[row] = first if stats.first[row] < 0 else min(stats.first[row], first)
            stats.last[row] = max(stats.last[row], last)
        if on_batch is not None:
            on_batch(batch.pods)

    await asyncio.gather(*(one(b) for b in batches))
    return stats


def coverage_from_bins(bin_ends: IntArray, counts: FloatArray, bin_seconds: int) -> tuple[int, int, int]:
    """(samples, first, last) of one series from its per-bin sample counts (pure).

    The sample interval is estimated from the fullest bin; the first sample is placed that many
    intervals before the end of the first non-empty bin, the last that many after the start of the last
    one (exact for a regular scrape; within one interval otherwise)."""
    ok = counts > 0
    if not ok.any():
        return 0, -1, -1
    ends, c = bin_ends[ok], counts[ok]
    interval = bin_seconds / max(float(c.max()), 1.0)
    first = int(ends[0] - min(c[0] * interval, bin_seconds))
    last = int(ends[-1] - bin_seconds + min(c[-1] * interval, bin_seconds))
    return int(c.sum()), first, max(last, first)


def _reduce(target: FloatArray, rows: IntArray, series: Sequence[Series],
            fn: Callable[[FloatArray, FloatArray], FloatArray]) -> None:
    ok = rows >= 0
    vals = np.array([s.values[-1] for s in series], dtype=np.float64)
    for r, v in zip(rows[ok], vals[ok], strict=True):
        if np.isfinite(v):
            target[r] = fn(target[r], v)


@dataclass(frozen=True)
class SampleChunk:
    """Usage samples of some rows over one time chunk, sorted by row then time (columnar)."""

    rows: IntArray
    timestamps: IntArray
    cpu_cores: FloatArray
    memory_bytes: FloatArray


def time_chunks(start: int, end: int, step: int, *, series: int, max_samples: int = 4_000_000) -> list[
        tuple[int, int]]:
    """Split [start, end] (aligned to ``step``) into chunks of at most MAX_POINTS_PER_SERIES points and
    about ``max_samples`` samples for ``series`` series per query."""
    points = max(1, min(MAX_POINTS_PER_SERIES, max_samples // max(series, 1)))
    chunks = []
    t = start
    while t <= end:
        stop = min(end, t + (points - 1) * step)
        chunks.append((t, stop))
        t = stop + step
    return chunks


def merge_samples(fleet: Fleet, scope: Scope, cpu: Sequence[Series], mem: Sequence[Series]) -> SampleChunk:
    """Join per-pod CPU and memory series on (pod, timestamp) and key them by row (pure)."""
    pod_ids: dict[tuple[str, str, str, str], int] = {}
    parts_pod, parts_row, parts_ts, parts_val, parts_kind = [], [], [], [], []
    for kind, series_list in ((0, cpu), (1, mem)):
        rows = _rows_of(fleet, scope, series_list)
        for s, row in zip(series_list, rows, strict=True):
            if row < 0:
                continue
            key = (_cluster(s.labels, scope), s.labels.get("namespace", ""), s.labels.get("pod", ""),
                   s.labels.get("container", ""))
            pid = pod_ids.setdefault(key, len(pod_ids))
            parts_pod.append(np.full(len(s.timestamps), pid, np.int64))
            parts_row.append(np.full(len(s.timestamps), row, np.int64))
            parts_ts.append(s.timestamps)
            parts_val.append(s.values)
            parts_kind.append(np.full(len(s.timestamps), kind, np.int8))
    if not parts_ts:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return SampleChunk(empty_i, empty_i, empty_f, empty_f)
    pod = np.concatenate(parts_pod)
    row = np.concatenate(parts_row)
    ts = np.concatenate(parts_ts)
    val = np.concatenate(parts_val)
    kind_arr = np.concatenate(parts_kind)
    key = pod * (2**40) + ts
    uniq, inverse = np.unique(key, return_inverse=True)
    cpu_v = np.full(len(uniq), np.nan)
    mem_v = np.full(len(uniq), np.nan)
    cpu_v[inverse[kind_arr == 0]] = val[kind_arr == 0]
    mem_v[inverse[kind_arr == 1]] = val[kind_arr == 1]
    first_of = np.zeros(len(uniq), np.int64)
    first_of[inverse] = np.arange(len(key))
    u_row = row[first_of]
    u_ts = ts[first_of]
    order = np.lexsort((u_ts, u_row))
    return SampleChunk(u_row[order], u_ts[order], cpu_v[order], mem_v[order])


async def stream_samples(prom: PrometheusClient, fleet: Fleet, scope: Scope, queries: UsageQueries, *,
                         start: int, end: int, step_seconds: int, batches: Sequence[Batch],
                         consume: Callable[[SampleChunk], None],
                         on_chunk: Callable[[int, int], None] | None = None,
                         max_samples_per_query: int = 4_000_000) -> None:
    """Per-pod samples every ``step_seconds`` from ``start`` to ``end`` (aligned to the step), batch by
    batch, each batch in chronological chunks; ``consume`` gets each chunk as soon as it arrives (rows of
    different batches never overlap, so per-row time order holds)."""
    by = scope.group_labels()
    first = -(-start // step_seconds) * step_seconds

    async def one(batch: Batch) -> None:
        chunks = time_chunks(first, end, step_seconds, series=max(batch.pods, 1),
                             max_samples=max_samples_per_query)
        async def fetch(lo: int, hi: int) -> tuple[list[Series], list[Series]]:
            cpu, mem = await asyncio.gather(
                prom.query_range(queries.cpu_rate(batch, by), lo, hi, step_seconds),
                prom.query_range(queries.memory_step_max(batch, by, step_seconds), lo, hi, step_seconds))
            return cpu, mem

        upcoming: asyncio.Future[tuple[list[Series], list[Series]]] | None = (
            asyncio.ensure_future(fetch(*chunks[0])) if chunks else None)
        for i in range(len(chunks)):
            current = upcoming
            assert current is not None
            # Fetch the next chunk while this one is parsed and consumed.
            upcoming = asyncio.ensure_future(fetch(*chunks[i + 1])) if i + 1 < len(chunks) else None
            cpu, mem = await current
            consume(merge_samples(fleet, scope, cpu, mem))
            del cpu, mem, current
            if on_chunk is not None:
                on_chunk(batch.pods, len(chunks))

    await asyncio.gather(*(one(b) for b in batches))
