"""Synthetic Kubernetes metrics replayed from the Bitbrains trace, backfilled into a real Prometheus.

Used by the ``prom`` test tier (a handful of pods) and by ``bench/bench_recommend.py`` (1,000
Deployments × 2 pods). Usage comes from ``../shared/data/bitbrains_rnd/usage.parquet`` (Bitbrains
GWA-T-12 "Rnd", TU Delft Grid Workloads Archive; cite Shen, van Beek, Iosup, CCGrid 2015 — see that
folder's PROVENANCE.md). Nothing is copied into the repository: files are generated under a temporary or
cache directory.

Replay: the trace's 5-minute records are put on a 300 s grid; a record ending at ``T`` (a multiple of
300) holds for the minute samples at ``T-270, T-210, …, T-30`` (cAdvisor-like, every 60 s, 30 s off the
minute so no sample sits on a query boundary). ``container_cpu_usage_seconds_total`` grows by
``cpu × 60`` per sample; ``container_memory_working_set_bytes`` is the record's memory. Missing records
are gaps (no samples). kube-state-metrics-like series (pod owner, ReplicaSet owner, pod/container info,
requests/limits, Running phase, OOM-kill reason) are written every ``ksm_interval`` seconds.

Backfill: ``promtool tsdb create-blocks-from openmetrics`` re-reads its whole input for every 2-hour
block, so the OpenMetrics text is written one file per 2-hour-aligned window and the files are
backfilled by a few parallel promtool processes.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitbrains_rnd" / "usage.parquet"
BLOCK_SECONDS = 7200
STEP = 60
RECORD = 300


def data_path() -> Path:
    """The shared Bitbrains trace (``RIKUGAME_BITBRAINS`` overrides)."""
    return Path(os.environ.get("RIKUGAME_BITBRAINS", str(DATA)))


@dataclass
class VMTrace:
    """One VM's usage on a 300 s grid from its first record (NaN = no record)."""

    entity: str
    start: int
    cpu_cores: np.ndarray
    memory_bytes: np.ndarray


def load_vms(entities: Sequence[str] | None = None, path: Path | None = None) -> dict[str, VMTrace]:
    """Read VMs from the trace onto a 300 s grid (rows with unknown CPU are dropped: gaps)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path or data_path(), columns=["timestamp", "entity", "cpu_cores", "memory_bytes"])
    if entities is not None:
        table = table.filter(pc.is_in(table["entity"], value_set=__import__("pyarrow").array(list(entities))))
    ent = np.asarray(table["entity"].to_pylist(), dtype=object)
    ts = table["timestamp"].to_numpy()
    cpu = table["cpu_cores"].to_numpy(zero_copy_only=False).astype(np.float64)
    mem = table["memory_bytes"].to_numpy().astype(np.float64)
    out: dict[str, VMTrace] = {}
    order = np.lexsort((ts, ent))
    ent, ts, cpu, mem = ent[order], ts[order], cpu[order], mem[order]
    bounds = np.flatnonzero(np.r_[True, ent[1:] != ent[:-1], True])
    for a, b in itertools.pairwise(bounds):
        t, c, m = ts[a:b], cpu[a:b], mem[a:b]
        ok = ~np.isnan(c)
        t, c, m = t[ok], c[ok], m[ok]
        if len(t) == 0:
            continue
        start = int(t[0])
        slot = (t - start) // RECORD
        n = int(slot[-1]) + 1
        grid_c = np.full(n, np.nan)
        grid_m = np.full(n, np.nan)
        grid_c[slot] = c  # the last record of a slot wins
        grid_m[slot] = m
        out[str(ent[a])] = VMTrace(str(ent[a]), start, grid_c, grid_m)
    return out


@dataclass
class Pod:
    """One pod with one container, its owner chain, settings, and per-minute usage."""

    namespace: str
    name: str
    workload: str
    kind: str = "Deployment"
    container: str = "app"
    cpu_request_cores: float | None = 0.5
    memory_request_bytes: int | None = 1 << 30
    cpu_limit_cores: float | None = None
    memory_limit_bytes: int | None = 1 << 30
    start: int = 0
    """Time of minute 0 (a multiple of 300); minute k's sample is at start + 60 k + 30."""
    cpu_cores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per-minute CPU (NaN = no sample)."""
    memory_bytes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    counter_resets: tuple[int, ...] = ()
    """Minutes at which the CPU counter restarts from zero (a container restart)."""
    oom_minute: int | None = None
    """From this minute on, the container's last termination reason is OOMKilled."""
    hpa_metric: str | None = None
    """An HPA scales the workload on this resource (``cpu``/``memory``) at 70 % utilisation."""

    @property
    def replicaset(self) -> str:
        return f"{self.workload}-5d8f7c9b6"

    def sample_times(self) -> np.ndarray:
        return self.start + STEP * np.arange(len(self.cpu_cores), dtype=np.int64) + 30

    def counter_cache(self) -> np.ndarray:
        """:meth:`cpu_counter`, computed once."""
        cached = self.__dict__.get("_counter")
        if cached is None or len(cached) != len(self.cpu_cores):
            cached = self.__dict__["_counter"] = self.cpu_counter()
        return cached

    def cpu_counter(self) -> np.ndarray:
        """Counter values per minute (NaN where no sample)."""
        inc = np.nan_to_num(self.cpu_cores, nan=0.0) * STEP
        counter = np.empty_like(inc)
        prev = 0
        for r in [*sorted(self.counter_resets), len(inc)]:
            counter[prev:r] = np.cumsum(inc[prev:r])
            prev = r
        counter[np.isnan(self.cpu_cores)] = np.nan
        return counter


def replay(vm: VMTrace, *, first_record: int, minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-minute CPU and memory from ``minutes`` minutes of the VM starting at record ``first_record``."""
    records = -(-minutes // 5)
    idx = first_record + np.arange(records)
    ok = idx < len(vm.cpu_cores)
    c = np.full(records, np.nan)
    m = np.full(records, np.nan)
    c[ok] = vm.cpu_cores[idx[ok]]
    m[ok] = vm.memory_bytes[idx[ok]]
    return np.repeat(c, 5)[:minutes], np.repeat(m, 5)[:minutes]


def _fmt(values: np.ndarray) -> list[str]:
    return [repr(v) for v in values.tolist()]


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def openmetrics_window(pods: Sequence[Pod], lo: int, hi: int, *, ksm_interval: int = 60) -> str:
    """OpenMetrics text of every sample with ``lo <= t < hi`` (series-major, time-ordered, ``# EOF``)."""
    out: list[str] = []
    for metric in ("cpu", "memory"):
        for p in pods:
            k_lo = max(0, -(-(lo - p.start - 30) // STEP))
            k_hi = min(len(p.cpu_cores), max(0, -(-(hi - p.start - 30) // STEP)))
            if k_hi <= k_lo:
                continue
            if metric == "cpu":
                vals = p.counter_cache()[k_lo:k_hi]
                name = "container_cpu_usage_seconds_total"
            else:
                vals = p.memory_bytes[k_lo:k_hi]
                name = "container_memory_working_set_bytes"
            t = p.start + STEP * np.arange(k_lo, k_hi, dtype=np.int64) + 30
            ok = ~np.isnan(vals)
            if not ok.any():
                continue
            prefix = name + _labels(namespace=p.namespace, pod=p.name, container=p.container,
                                    image="registry.example/app:1") + " "
            out.extend(f"{prefix}{v} {s}" for v, s in zip(_fmt(vals[ok]), t[ok].tolist(), strict=True))
    # kube-state-metrics: while the pod lives, every ksm_interval seconds.
    k_lo = -(-lo // ksm_interval) * ksm_interval
    ksm_series: list[tuple[str, Pod, str]] = []
    for p in pods:
        ksm_series.append(("kube_pod_owner" + _labels(
            namespace=p.namespace, pod=p.name, owner_kind="ReplicaSet" if p.kind == "Deployment" else p.kind,
            owner_name=p.replicaset if p.kind == "Deployment" else p.workload, owner_is_controller="true"),
            p, "1"))
        ksm_series.append(("kube_pod_info" + _labels(namespace=p.namespace, pod=p.name, node="node-1"),
                           p, "1"))
        ksm_series.append(("kube_pod_container_info" + _labels(namespace=p.namespace, pod=p.name,
                                                               container=p.container), p, "1"))
        ksm_series.append(("kube_pod_status_phase" + _labels(namespace=p.namespace, pod=p.name,
                                                             phase="Running"), p, "1"))
        for what, value, unit, resource in (
                ("requests", p.cpu_request_cores, "core", "cpu"),
                ("requests", p.memory_request_bytes, "byte", "memory"),
                ("limits", p.cpu_limit_cores, "core", "cpu"),
                ("limits", p.memory_limit_bytes, "byte", "memory")):
            if value is not None:
                ksm_series.append((f"kube_pod_container_resource_{what}" + _labels(
                    namespace=p.namespace, pod=p.name, container=p.container, node="node-1",
                    resource=resource, unit=unit), p, repr(float(value))))
    hpa_done: set[tuple[str, str]] = set()
    for p in pods:
        if p.hpa_metric and (p.namespace, p.workload) not in hpa_done:
            hpa_done.add((p.namespace, p.workload))
            ksm_series.append(("kube_horizontalpodautoscaler_info" + _labels(
                namespace=p.namespace, horizontalpodautoscaler=p.workload, scaletargetref_kind=p.kind,
                scaletargetref_name=p.workload), p, "1"))
            ksm_series.append(("kube_horizontalpodautoscaler_spec_target_metric" + _labels(
                namespace=p.namespace, horizontalpodautoscaler=p.workload, metric_name=p.hpa_metric,
                metric_target_type="utilization"), p, "70"))
    rs_done: set[tuple[str, str]] = set()
    for p in pods:
        if p.kind == "Deployment" and (p.namespace, p.replicaset) not in rs_done:
            rs_done.add((p.namespace, p.replicaset))
            ksm_series.append(("kube_replicaset_owner" + _labels(
                namespace=p.namespace, replicaset=p.replicaset, owner_kind="Deployment",
                owner_name=p.workload, owner_is_controller="true"), p, "1"))
    for series, p, value in ksm_series:
        life_lo, life_hi = p.start, p.start + STEP * len(p.cpu_cores)
        first = max(k_lo, -(-life_lo // ksm_interval) * ksm_interval)
        times = np.arange(first, min(hi, life_hi), ksm_interval)
        out.extend(f"{series} {value} {t}" for t in times.tolist())
    for p in pods:
        if p.oom_minute is not None:
            life_hi = p.start + STEP * len(p.cpu_cores)
            t0 = p.start + STEP * p.oom_minute
            times = np.arange(max(-(-max(lo, t0) // ksm_interval) * ksm_interval, 0), min(hi, life_hi),
                              ksm_interval)
            name = "kube_pod_container_status_last_terminated_reason" + _labels(
                namespace=p.namespace, pod=p.name, container=p.container, reason="OOMKilled")
            out.extend(f"{name} 1 {t}" for t in times.tolist())
    out.append("# EOF")
    return "\n".join(out) + "\n"


def windows(start: int, end: int) -> Iterator[tuple[int, int]]:
    """2-hour-aligned windows covering [start, end)."""
    lo = start // BLOCK_SECONDS * BLOCK_SECONDS
    while lo < end:
        yield lo, lo + BLOCK_SECONDS
        lo += BLOCK_SECONDS


_FORK_PODS: Sequence[Pod] = ()


def _backfill_window(args: tuple[int, int, int, str, str, str]) -> int:
    lo, hi, ksm_interval, scratch, tsdb_dir, promtool = args
    text = openmetrics_window(_FORK_PODS, lo, hi, ksm_interval=ksm_interval)
    path = Path(scratch) / f"{lo}.om"
    path.write_text(text)
    proc = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(path), tsdb_dir],
                          capture_output=True, text=True, check=False)
    path.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"promtool failed on the window at {lo}: {proc.stderr.strip()[-500:]}")
    return text.count("\n")


def backfill(pods: Sequence[Pod], tsdb_dir: Path, *, start: int, end: int, ksm_interval: int = 60,
             workers: int = 2, promtool: str = "promtool") -> tuple[int, int]:
    """Write the pods' series into a Prometheus data directory, one 2-hour window per promtool run, in
    ``workers`` forked processes. Returns (files, lines) written."""
    global _FORK_PODS
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="rikugame-om-"))
    _FORK_PODS = pods
    for p in pods:
        p.counter_cache()
    try:
        wins = [(lo, hi, ksm_interval, str(scratch), str(tsdb_dir), promtool)
                for lo, hi in windows(start, end)]
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            lines = sum(pool.map(_backfill_window, wins))
        return len(wins), lines
    finally:
        _FORK_PODS = ()
        shutil.rmtree(scratch, ignore_errors=True)


def bench_pods(deployments: int, *, end: int, days: int = 14, pods_per_deployment: int = 2,
               namespaces: int = 20, path: Path | None = None) -> list[Pod]:
    """The KRR-comparable fleet: ``deployments`` Deployments × ``pods_per_deployment`` pods × 1 container,
    ``days`` at 60 s, one VM per Deployment (VM ``d mod #VMs``; Deployments sharing a VM take later
    windows of its 3-month history), pod *k* replaying the VM's *k*-th consecutive ``days``-day window."""
    vms = load_vms(path=path)
    names = sorted(vms)
    minutes = days * 1440
    span_records = days * 288 * pods_per_deployment
    cpu_choices = (0.1, 0.25, 0.5, 1.0)
    mem_choices = (256 * 2**20, 512 * 2**20, 2**30, 2 * 2**30)
    pods: list[Pod] = []
    for d in range(deployments):
        vm = vms[names[d % len(names)]]
        base = (d // len(names)) * span_records
        ns = f"team-{d % namespaces:02d}"
        workload = f"svc-{d:04d}"
        for k in range(pods_per_deployment):
            cpu, mem = replay(vm, first_record=base + k * days * 288, minutes=minutes)
            pods.append(Pod(namespace=ns, name=f"{workload}-5d8f7c9b6-{k:05d}", workload=workload,
                            cpu_request_cores=cpu_choices[d % 4],
                            memory_request_bytes=mem_choices[(d // 4) % 4],
                            memory_limit_bytes=mem_choices[(d // 4) % 4], start=end - minutes * 60,
                            cpu_cores=cpu, memory_bytes=mem))
    return pods


# --------------------------------------------------------------------------- KRR reference (from the data)


def prometheus_rate(ts: np.ndarray, values: np.ndarray, eval_times: np.ndarray,
                    range_seconds: int) -> np.ndarray:
    """Prometheus 2.x ``rate(x[range])`` at each eval time (range closed at both ends, counter resets,
    extrapolation as in promql/functions.go extrapolatedRate). NaN where fewer than two samples."""
    ok = ~np.isnan(values)
    ts, values = ts[ok].astype(np.float64), values[ok]
    out = np.full(len(eval_times), np.nan)
    if len(ts) < 2:
        return out
    corr = np.zeros(len(values))
    drop = values[1:] < values[:-1]
    corr[1:][drop] = values[:-1][drop]
    cum = np.cumsum(corr)
    lo = np.searchsorted(ts, eval_times - range_seconds, side="left")
    hi = np.searchsorted(ts, eval_times, side="right") - 1
    n = hi - lo + 1
    good = n >= 2
    lo, hi, t_end = lo[good], hi[good], eval_times[good].astype(np.float64)
    first, last = values[lo], values[hi]
    result = last - first + (cum[hi] - cum[lo])
    d_start = ts[lo] - (t_end - range_seconds)
    d_end = t_end - ts[hi]
    sampled = ts[hi] - ts[lo]
    avg = sampled / (n[good] - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_zero = np.where(result > 0, sampled * (first / result), np.inf)
    d_start = np.where((result > 0) & (first >= 0) & (d_zero < d_start), d_zero, d_start)
    threshold = avg * 1.1
    interval = sampled + np.where(d_start < threshold, d_start, avg / 2) + np.where(d_end < threshold, d_end,
                                                                                    avg / 2)
    out[good] = result * (interval / sampled) / range_seconds
    return out


LOOKBACK = 300
"""Prometheus' default lookback delta: an instant read at ``t`` takes the newest sample in (t − 5m, t]."""


def krr_reference(pods: Sequence[Pod], *, end: int, history_seconds: int, step: int = 75,
                  rate_window: int = 75, percentile: float = 0.95, points_required: int = 100,
                  min_history_seconds: int = 3 * 3600) -> dict[tuple[str, str], tuple[int, int] | None]:
    """KRR ``simple`` computed as KRR master computes it, directly from the data (robusta-dev/krr at
    d6baa745: robusta_krr/strategies/simple.py, core/integrations/prometheus/metrics/cpu.py and
    memory.py, core/abstract/strategies.py). Per pod, every metric is read at a subquery step of
    ``step`` (KRR's ``timeframe_duration``, 1.25 min = 75 s) over the history, aligned to multiples of the
    step as Prometheus aligns subqueries:

    * CPU = ``quantile_over_time(0.95, rate(counter[75s])[14d:75s])``: the P95 (linear interpolation,
      as Prometheus and numpy do) of the pod's ``rate`` at the step points; the workload's CPU is the
      max over its pods.
    * Memory = ``max_over_time(working_set[14d:75s])``: the max of the instant values at the step points
      (the newest sample within the 5-minute lookback); the workload's is the max over pods, × 1.15.
    * No recommendation without data, with fewer than ``points_required`` (100) counter points summed
      over the pods (KRR's ``CPUAmountLoader``), or with less than 3 h between the first and last sample.

    Ceil to 1m / 1Mi; floors 10m / 100Mi (rikugame's ``krr-simple`` restates KRR's minimums).
    Returns {(namespace, workload): (millicores, bytes) or None}."""
    mib = 2**20
    evals = np.arange(-(-(end - history_seconds) // step) * step, end + 1, step)
    per: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    span: dict[tuple[str, str], list[int]] = {}
    for p in pods:
        ts = p.sample_times()
        rate = prometheus_rate(ts, p.cpu_counter(), evals, rate_window)
        rate = rate[~np.isnan(rate)]
        p95 = float(np.quantile(rate, percentile)) if len(rate) else np.nan
        mem_ok = ~np.isnan(p.memory_bytes)
        mem_ts, mem_v = ts[mem_ok], p.memory_bytes[mem_ok]
        newest = np.searchsorted(mem_ts, evals, side="right") - 1
        fresh = (newest >= 0) & (evals - mem_ts[np.maximum(newest, 0)] < LOOKBACK) if len(mem_ts) else \
            np.zeros(len(evals), bool)
        mem = float(mem_v[newest[fresh]].max()) if fresh.any() else np.nan
        cpu_ts = ts[~np.isnan(p.cpu_cores)]
        newest_cpu = np.searchsorted(cpu_ts, evals, side="right") - 1
        points = int(((newest_cpu >= 0) & (evals - cpu_ts[np.maximum(newest_cpu, 0)] < LOOKBACK)).sum()) \
            if len(cpu_ts) else 0
        per.setdefault((p.namespace, p.workload), []).append((p95, mem, points))
        in_window = (ts >= end - history_seconds) & (ts <= end) & mem_ok
        seen = ts[in_window]
        if len(seen):
            first_last = span.setdefault((p.namespace, p.workload), [int(seen[0]), int(seen[-1])])
            first_last[0] = min(first_last[0], int(seen[0]))
            first_last[1] = max(first_last[1], int(seen[-1]))
    out: dict[tuple[str, str], tuple[int, int] | None] = {}
    for key, vals in per.items():
        cpus = [v[0] for v in vals if not np.isnan(v[0])]
        mems = [v[1] for v in vals if not np.isnan(v[1])]
        first_last = span.get(key)
        if (not cpus or not mems or first_last is None or first_last[1] - first_last[0] < min_history_seconds
                or sum(v[2] for v in vals) < points_required):
            out[key] = None  # no data, too few points or less than KRR's 3 hours: no recommendation
            continue
        cpu, mem = max(cpus), max(mems)
        cpu_m = max(int(np.ceil(round(cpu * 1000, 6))), 10)
        mem_b = max(int(np.ceil(mem * 1.15 / mib)) * mib, 100 * mib)
        out[key] = (cpu_m, mem_b)
    return out


# ----------------------------------------------------------------- rikugame reference (from the data)


def vpa_percentile(values: np.ndarray, weights: np.ndarray, q: float, *, first: float,
                   ratio: float = 1.05, buckets: int = 176) -> float:
    """The Kubernetes VPA's histogram read-out (autoscaler: pkg/recommender/util/histogram.go): exponential
    buckets (bucket n starts at first·(ratioⁿ − 1)/(ratio − 1)); the percentile is the upper boundary of the
    bucket where the cumulative weight reaches q (the last bucket's start when that is the last)."""
    n = np.floor(np.log(np.maximum(values, 0.0) * (ratio - 1) / first + 1) / np.log(ratio)).astype(np.int64)
    n = np.clip(n, 0, buckets - 1)
    cumulative = np.cumsum(np.bincount(n, weights=weights, minlength=buckets))
    bucket = int(np.argmax(cumulative >= q * cumulative[-1] * (1 - 1e-12)))
    edge = min(bucket + 1, buckets - 1)
    return float(first * (ratio ** edge - 1) / (ratio - 1))


def rikugame_reference(pods: Sequence[Pod], *, end: int, history_seconds: int, step: int = 300,
                       rate_window: int = 300) -> dict[tuple[str, str], tuple[int, int] | None]:
    """What ``rikugame recommend`` (default recommender ``rikugame``, default settings, one decision at
    ``end``) must give, computed from the generated data with numpy (nothing from ``rikugame.core``), as its
    module docstring defines it:

    * CPU: a report takes one decision, so the model is the ensemble's starting one, VPA's: the P90 of a
      histogram (VPA's CPU buckets from 0.01 core, ×1.05) of the pods' ``rate(counter[5m])`` at every
      multiple of 5 minutes in the history, each weighted 2^((t − end) / 24 h), × 1.15; at least 5m.
    * Memory: hourly maxima of the raw working set (an hour ending at a multiple of 3600 s); base =
      min(max(time-of-day max, last day's max), last 7 days' max), the time-of-day max over hours within
      ±2 h of ``end``'s time of day on each of the last 14 days; request = base + min(1 GiB, base), at least
      32 MiB.

    Ceil to 1m and to 1 byte. Returns {(namespace, workload): (millicores, bytes) or None without data}."""
    hour, day, gib, mib = 3600, 86400, 2**30, 2**20
    start = end - history_seconds
    evals = np.arange(-(-start // step) * step, end + 1, step)
    cpu: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    mem: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for p in pods:
        key = (p.namespace, p.workload)
        ts = p.sample_times()
        rate = prometheus_rate(ts, p.cpu_counter(), evals, rate_window)
        ok = ~np.isnan(rate)
        cpu.setdefault(key, []).append((evals[ok], rate[ok]))
        keep = ~np.isnan(p.memory_bytes) & (ts > start) & (ts <= end)
        mem.setdefault(key, []).append((ts[keep], p.memory_bytes[keep]))
    out: dict[tuple[str, str], tuple[int, int] | None] = {}
    now_slot = end // hour
    for key in cpu:
        t = np.concatenate([a for a, _ in cpu[key]])
        v = np.concatenate([b for _, b in cpu[key]])
        mt = np.concatenate([a for a, _ in mem[key]])
        mv = np.concatenate([b for _, b in mem[key]])
        if len(v) == 0 or len(mv) == 0:
            out[key] = None
            continue
        p90 = vpa_percentile(v, np.exp2((t - end) / day), 0.9, first=0.01)
        cpu_m = int(np.ceil(round(max(p90 * 1.15, 0.005) * 1000, 6)))
        # Hourly maxima: an hour (h − 1)·3600 < t ≤ h·3600 is stamped inside itself, slot h − 1.
        slots = -(-mt.astype(np.int64) // hour) - 1
        age = now_slot - slots
        recent = mv[slots >= (end - day) // hour].max(initial=0.0)
        week = mv[slots >= (end - 7 * day) // hour].max(initial=0.0)
        phase = age % 24
        near = (age >= 0) & (age <= 14 * 24 + 2) & ((phase <= 2) | (phase >= 22))
        tod = mv[near].max(initial=0.0)
        base = min(max(tod, recent), week)
        memory = max(base + min(gib, base), 32 * mib)
        out[key] = (cpu_m, int(np.ceil(round(memory, 6))))
    return out
