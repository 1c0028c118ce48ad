"""``rikugame recommend``'s pipeline: Prometheus history → the decision core → report rows.

The numbers come from the same :class:`~rikugame.core.tuning.VerticalTuning` the operator runs (same
recommenders, same guardrails), so the report and the operator agree. Recommenders that only need
window statistics (``krr-simple``) get them computed exactly by Prometheus
(:func:`~rikugame.sources.kube_usage.fetch_summaries`); the others get every sample, streamed
chunk by chunk into their histograms, in any order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rikugame.core import recommenders
from rikugame.core.decisions import Reason, VerticalDecisions
from rikugame.core.policy import ResourceBounds, TargetRef, TunerSpec, VerticalGuardrails
from rikugame.core.samples import UsageSamples, WindowSummary
from rikugame.core.signals import PeakHistogram, WindowedMax
from rikugame.core.tuning import VerticalTuning
from rikugame.errors import InputError
from rikugame.report.recommend_report import (
    CPU_SEVERITY_CORES,
    DEFAULT_CPU_PRICE,
    DEFAULT_MEMORY_PRICE,
    GIB,
    HOURS_PER_MONTH,
    MEMORY_SEVERITY_BYTES,
    SEVERITIES,
    Report,
    ReportRow,
)
from rikugame.sources import kube_discovery as discovery
from rikugame.sources import kube_usage as usage
from rikugame.sources import promql
from rikugame.sources.prometheus import PrometheusClient, PrometheusSettings

if TYPE_CHECKING:
    from rikugame.sources.traces import TraceWriter


def report_spec(recommender: str) -> TunerSpec:
    """The policy of a plain report: the recommender's target, no step limits, near-unbounded bounds.

    Pass a Tuner spec instead (``--policy``) to see exactly what the operator would do next."""
    return TunerSpec(
        target_ref=TargetRef(name="report"), recommender=recommender,
        bounds=ResourceBounds(min_cpu="1m", max_cpu="100000", min_memory="1Mi", max_memory="1Pi"),
        vertical=VerticalGuardrails(scale_down_max_ratio=1.0, scale_down_interval_seconds=0,
                                    memory_scale_down_max_ratio=1.0, memory_scale_down_interval_seconds=0,
                                    min_change_ratio=0.0, stale_after_seconds=3600))


KRR_STEP_SECONDS = 75
"""KRR master's step, ``timeframe_duration`` = 1.25 minutes (robusta-dev/krr robusta_krr/core/abstract/
strategies.py), sent as ``75s``; its CPU loader uses that step as the ``rate`` window too
(``rate(container_cpu_usage_seconds_total{…}[75s])`` in robusta_krr/core/integrations/prometheus/metrics/
cpu.py), and every loader's subquery runs at it (``[14d:75s]``)."""
RIKUGAME_STEP_SECONDS = 300
"""The ``rikugame`` recommender's resolution: its constants were screened on traces of 5-minute averages
(Bitbrains, Azure; README "Results on the shared traces"), and with a 5-minute ``rate`` window a 1-minute
step only samples each window five times (overlapping windows: the same distribution, 5× the samples to
fetch and parse). Non-overlapping 5-minute rates count every second of usage exactly once."""
QUERY_DEFAULTS: dict[str, tuple[int, int | None]] = {
    "krr-simple": (KRR_STEP_SECONDS, None), "rikugame": (RIKUGAME_STEP_SECONDS, RIKUGAME_STEP_SECONDS)}
"""(step, CPU rate window) per recommender when not given (window None: the step, KRR's rule); the
others: DEFAULT_QUERY."""
DEFAULT_QUERY: tuple[int, int | None] = (60, 300)


def query_resolution(recommender: str, step_seconds: int | None = None,
                     rate_window_seconds: int | None = None) -> tuple[int, int]:
    """(step, rate window) for a recommender: the given values, else its defaults (``krr-simple``: KRR's
    75 s step, and the step as the rate window, as KRR does; ``rikugame``: 5 minutes and 5 minutes; the
    others: 60 s and 5 minutes)."""
    default_step, default_window = QUERY_DEFAULTS.get(recommender, DEFAULT_QUERY)
    step = default_step if step_seconds is None else step_seconds
    if rate_window_seconds is not None:
        return step, rate_window_seconds
    return step, step if default_window is None else default_window


DEFAULT_MAX_PODS_PER_QUERY = 15
"""Pods per usage query. Prometheus' memory grows with the samples one query loads (14 days of a pod's
series) times the queries in flight (``--concurrency``, 3): on the bench fleet its anonymous peak was 75 MiB
at 25 pods, 53 at 15, 49 at 10, for the same wall time at 15 (docs/recommend.md)."""


@dataclass(frozen=True)
class ReportOptions:
    """What to compute."""

    end: int
    """The report's "now" (Unix seconds): queries are evaluated here."""
    history_seconds: int = 14 * 86400
    step_seconds: int | None = None
    """Sample resolution (subquery step / range step); None: the recommender's (query_resolution)."""
    rate_window_seconds: int | None = None
    """CPU ``rate`` window; None: the recommender's (query_resolution)."""
    recommender: str = "rikugame"
    spec: TunerSpec | None = None
    min_history_seconds: int | None = None
    cpu_price: float = DEFAULT_CPU_PRICE
    memory_price: float = DEFAULT_MEMORY_PRICE
    max_pods_per_query: int = DEFAULT_MAX_PODS_PER_QUERY
    kinds: frozenset[str] | None = None
    use_summaries: bool = True
    """Let recommenders that can take window statistics get them from Prometheus (exact and fast)."""
    max_samples_per_query: int = 4_000_000
    """Samples path: each batch's history is fetched in time chunks of about this many samples."""
    hourly_memory: bool = True
    """Samples path: read memory as interval maxima when that is all the recommender keeps
    (``memory_interval``); off, or with ``export_trace``, every step's maximum is read."""
    export_trace: Path | None = None
    """Also write every fetched usage sample here, as a trace ``rikugame backtest --data`` replays."""


Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)."""


def memory_interval(recommender: object) -> int | None:
    """The interval whose memory maximum is all the recommender keeps (None: it needs every sample).

    ``WindowedMax`` (``rikugame``, ``krr-simple``) keeps one maximum per slot; ``PeakHistogram``
    (``vpa``, ``tortoise``) one peak per interval, and hourly maxima give the same peaks for intervals
    of whole hours."""
    for attr in ("memory_peak", "memory"):
        signal = getattr(recommender, attr, None)
        if isinstance(signal, WindowedMax):
            return signal.slot_seconds
        if isinstance(signal, PeakHistogram):
            interval = signal.interval_seconds
            return 3600 if interval % 3600 == 0 else None
    return None


def entity_name(key: discovery.ContainerKey) -> str:
    """A workload container as a trace entity: ``namespace/kind/workload/container`` (``cluster:`` first in
    a multi-cluster Prometheus)."""
    name = f"{key.namespace}/{key.kind}/{key.workload}/{key.container}"
    return f"{key.cluster}:{name}" if key.cluster else name


def _severity(cpu_delta_millicores: int, memory_delta_bytes: int, has_current: bool) -> str:
    if not has_current:
        return "WARNING"
    level = 1
    for i, threshold in enumerate(CPU_SEVERITY_CORES):
        if abs(cpu_delta_millicores) / 1000 >= threshold:
            level = max(level, i + 2)
    for i, threshold_bytes in enumerate(MEMORY_SEVERITY_BYTES):
        if abs(memory_delta_bytes) >= threshold_bytes:
            level = max(level, i + 2)
    return SEVERITIES[level]


def assemble(fleet: discovery.Fleet, decisions: VerticalDecisions, sufficient: np.ndarray, spec: TunerSpec, *,
             cpu_price: float, memory_price: float) -> list[ReportRow]:
    """Rows from the fleet's current settings and the core's decisions (pure)."""
    rows: list[ReportRow] = []
    for i, key in enumerate(fleet.containers):
        ok = bool(sufficient[i])
        cur_cpu = int(fleet.cpu_request_millicores[i])
        cur_mem = int(fleet.memory_request_bytes[i])
        rec_cpu = int(decisions.cpu.decided[i]) if ok else cur_cpu
        rec_mem = int(decisions.memory.decided[i]) if ok else cur_mem
        cur_cpu_lim = int(fleet.cpu_limit_millicores[i])
        cur_mem_lim = int(fleet.memory_limit_bytes[i])
        rec_cpu_lim = int(decisions.cpu.limit[i]) if ok else cur_cpu_lim
        rec_mem_lim = int(decisions.memory.limit[i]) if ok else cur_mem_lim
        pods = int(fleet.replicas[i])
        notes: list[str] = []
        hpa = fleet.hpa_metrics.get((key.cluster, key.namespace, key.kind, key.workload), set())
        if hpa:
            notes.append("HPA on " + ", ".join(sorted(hpa)) + ": its target utilisation is relative to "
                         "the request, so a new request changes scaling")
        if ok and (cur_cpu < 0 or cur_mem < 0):
            notes.append("no current request")
        if not ok:
            notes.append(f"too little history ({decisions.history_seconds[i] / 3600:.1f} h): "
                         "no recommendation")
        if ok and int(decisions.cpu.reasons[i] | decisions.memory.reasons[i]) & int(Reason.STALE_METRICS):
            notes.append("no recent usage sample: nothing is lowered (stale-metrics guardrail)")
        if np.any(fleet.oom_rows == i):
            notes.append("OOM-killed in the window")
        if pods == 0:
            notes.append("no running pod at the end of the window")
        saving = 0.0
        severity = "UNKNOWN"
        if ok:
            d_cpu = max(cur_cpu, 0) - rec_cpu
            d_mem = max(cur_mem, 0) - rec_mem
            saving = max(pods, 1) * HOURS_PER_MONTH * (d_cpu / 1000 * cpu_price + d_mem / GIB * memory_price)
            severity = _severity(d_cpu, d_mem, cur_cpu >= 0 and cur_mem >= 0)
        rows.append(ReportRow(
            cluster=key.cluster, namespace=key.namespace, kind=key.kind, workload=key.workload,
            container=key.container, pods=pods, cpu_request=cur_cpu, cpu_request_recommended=rec_cpu,
            cpu_limit=cur_cpu_lim, cpu_limit_recommended=rec_cpu_lim, memory_request=cur_mem,
            memory_request_recommended=rec_mem, memory_limit=cur_mem_lim,
            memory_limit_recommended=rec_mem_lim, sufficient=ok,
            history_seconds=float(decisions.history_seconds[i]), severity=severity,
            monthly_saving=round(saving, 2),
            cpu_reasons=Reason(int(decisions.cpu.reasons[i])).describe(),
            memory_reasons=Reason(int(decisions.memory.reasons[i])).describe(), notes=notes))
    return rows


async def build_report(settings: PrometheusSettings, scope: promql.Scope, options: ReportOptions,
                       progress: Progress | None = None) -> Report:
    """Query Prometheus and run the decision core: the whole report."""
    started = time.perf_counter()
    if options.recommender not in recommenders.names():
        raise InputError(f"unknown recommender {options.recommender!r}; choose one of: "
                         f"{', '.join(recommenders.names())}")
    if options.spec is not None:
        own = options.spec.recommender_settings
        spec = options.spec.model_copy(update={
            "recommender": options.recommender,
            "recommender_settings": own if own is not None and own.name == options.recommender else None})
    else:
        spec = report_spec(options.recommender)
    rec_settings: dict[str, Any] = {}
    probe = recommenders.create(options.recommender, 0)
    if hasattr(probe, "window_seconds"):
        rec_settings["window_seconds"] = options.history_seconds
    if hasattr(probe, "late_samples_seconds"):  # batches arrive in any order: keep every interval of the history
        rec_settings["late_samples_seconds"] = options.history_seconds
    if options.min_history_seconds is not None and hasattr(probe, "min_history_seconds"):
        rec_settings["min_history_seconds"] = float(options.min_history_seconds)
    report_progress = progress or (lambda stage, done, total: None)
    step, rate_window = query_resolution(options.recommender, options.step_seconds,
                                         options.rate_window_seconds)
    end = options.end
    start = end - options.history_seconds

    async with PrometheusClient(settings) as prom:
        report_progress("discovering workloads", 0, 1)
        fleet = await discovery.discover(prom, scope, end=end, history_seconds=options.history_seconds,
                                  kinds=options.kinds)
        report_progress("discovering workloads", 1, 1)
        t_discovered = time.perf_counter()
        tuning = VerticalTuning(len(fleet), spec, recommender_settings=rec_settings)
        tuning.set_current(fleet.cpu_request_millicores, fleet.memory_request_bytes,
                           cpu_limit=fleet.cpu_limit_millicores, memory_limit=fleet.memory_limit_bytes)
        batches = usage.plan_batches(fleet, scope, max_pods=options.max_pods_per_query)
        queries = usage.UsageQueries(rate_window_seconds=rate_window, resolution_seconds=step)
        total_pods = sum(b.pods for b in batches)
        done = [0]
        path = "summary" if options.use_summaries and tuning.accepts_summary() else "samples"
        writer: TraceWriter | None = None
        if options.export_trace is not None:
            from rikugame.sources.traces import TraceWriter  # pyarrow: only when a trace is written

            writer = TraceWriter(options.export_trace, [entity_name(k) for k in fleet.containers])
        try:
            if len(fleet) and path == "summary":
                percentile = float(getattr(tuning.recommender, "cpu_percentile", 0.95))

                def batch_done(pods: int) -> None:
                    done[0] += pods
                    report_progress("querying usage", done[0], total_pods)

                stats = await usage.fetch_summaries(prom, fleet, scope, queries, end=end,
                                                    history_seconds=options.history_seconds,
                                                    cpu_percentile=percentile, batches=batches,
                                                    on_batch=batch_done)
                tuning.observe_summary(WindowSummary(
                    cpu_percentile=percentile, cpu_percentile_cores=stats.cpu_percentile_cores,
                    memory_max_bytes=stats.memory_max_bytes, sample_count=stats.sample_count,
                    first=stats.first, last=stats.last))
            if len(fleet) and (path == "samples" or writer is not None):
                feed = path == "samples"
                done[0] = 0

                def consume(chunk: usage.SampleChunk) -> None:
                    if writer is not None:
                        writer.write(chunk.rows, chunk.timestamps, chunk.cpu_cores, chunk.memory_bytes)
                    if feed:
                        tuning.observe(UsageSamples(chunk.rows, chunk.timestamps, chunk.cpu_cores,
                                                    chunk.memory_bytes))

                def chunk_done(pods: int, chunks: int) -> None:
                    done[0] += pods
                    report_progress("querying usage" if feed else "exporting the trace", done[0],
                                    total_pods * chunks if chunks else 1)

                await usage.stream_samples(prom, fleet, scope, queries, start=start, end=end,
                                           step_seconds=step, batches=batches, consume=consume,
                                           on_chunk=chunk_done,
                                           max_samples_per_query=options.max_samples_per_query,
                                           memory_step_seconds=memory_interval(tuning.recommender)
                                           if feed and writer is None and options.hourly_memory else None)
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        t_usage = time.perf_counter()
        if len(fleet.oom_rows):
            tuning.record_oom(fleet.oom_rows, fleet.oom_timestamps, fleet.oom_limit_bytes)
        tuning.advance(end)
        decisions = tuning.decide(end)
        t_core = time.perf_counter()
        stats_q = prom.stats
    sufficient = (decisions.cpu.reasons & int(Reason.INSUFFICIENT_HISTORY)) == 0
    rows = assemble(fleet, decisions, sufficient, spec, cpu_price=options.cpu_price,
                    memory_price=options.memory_price)
    return Report(rows=rows, recommender=options.recommender, end=end,
                  history_seconds=options.history_seconds, step_seconds=step,
                  cpu_explanation=decisions.cpu_explanation, memory_explanation=decisions.memory_explanation,
                  cpu_price=options.cpu_price, memory_price=options.memory_price, queries=stats_q.queries,
                  response_bytes=stats_q.response_bytes, elapsed_seconds=time.perf_counter() - started,
                  path=path, trace_samples=writer.samples if writer is not None else None,
                  stage_seconds={"discovery": round(t_discovered - started, 3),
                                            "usage": round(t_usage - t_discovered, 3),
                                            "core": round(t_core - t_usage, 3)})
