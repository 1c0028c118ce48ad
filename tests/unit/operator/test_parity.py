"""Parity: the same usage through the operator's collector (PodMetrics → samples, pod spec → current,
in-place resize → apply, with a fake clock) and through the backtest's replay gives identical decisions.

The operator lists metrics.k8s.io, which holds one (the latest) sample per container; so both sides get
one sample per container per hour (the hour's maxima, stamped at its last 5-minute slot) and the operator
cycles once an hour, on the backtest's decision times. Any drift in the operator's mapping (container rows,
times, quantity round trips, partial apply, resize rules) shows up as a different request timeline.
The operator's missing-metrics emergency is switched off (the backtest has no such rule; see below).
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import numpy as np
import pytest
from fake_cluster import NS, Clock, FakeCluster

from rikugame.core import recommenders
from rikugame.core.quantities import cpu_millicores, format_cpu, format_memory, memory_bytes
from rikugame.operator.reconciler import Reconciler, rfc3339
from rikugame.operator.settings import OperatorSettings
from rikugame.sim import profiles, replaying
from rikugame.sources import traces
from rikugame.usage_trace import Trace

HOUR = 3600
SAMPLE = importlib.resources.files("rikugame.data") / "bitbrains-sample.parquet"  # see data/PROVENANCE.md
INITIAL_CPU, INITIAL_MEMORY = 1000, 2 * 2**30


def hourly(trace: Trace) -> Trace:
    """Each entity's hourly maxima, stamped at the hour's last 5-minute slot (h + 55 min)."""
    hour = trace.timestamps // HOUR * HOUR
    key = trace.rows * (1 << 40) + hour
    keys, inverse = np.unique(key, return_inverse=True)
    cpu = np.full(len(keys), -np.inf)
    mem = np.full(len(keys), -np.inf)
    np.maximum.at(cpu, inverse, trace.cpu_cores)
    np.maximum.at(mem, inverse, np.nan_to_num(trace.memory_bytes, nan=-np.inf))
    rows = keys >> 40
    stamps = (keys & ((1 << 40) - 1)) + HOUR - 300
    return Trace(trace.entities, rows.astype(np.int64), stamps.astype(np.int64), cpu,
                 np.where(np.isfinite(mem), mem, np.nan), "hourly maxima")


class Cluster(FakeCluster):
    """The in-memory cluster with one Deployment whose pod has one container per trace entity."""

    def __init__(self, spec: dict[str, Any], names: list[str]) -> None:
        super().__init__()
        self.tuners[0]["spec"] = spec
        self.pod["spec"]["containers"] = [{"name": n, "resources": {"requests": {
            "cpu": format_cpu(INITIAL_CPU), "memory": format_memory(INITIAL_MEMORY)}}} for n in names]
        self.pod["status"]["containerStatuses"] = [{"name": n, "restartCount": 0} for n in names]
        self.workload = {"spec": {"template": {"spec": {"containers": [{"name": n} for n in names]}}}}

    async def apply_hpa(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        raise AssertionError("no HPA in this test")


@pytest.mark.parametrize("recommender", recommenders.names())
async def test_operator_collector_and_backtest_replay_decide_the_same_requests(recommender: str) -> None:
    trace = hourly(traces.load_trace(str(SAMPLE), max_entities=3))
    spec = profiles.backtest_spec(recommender)
    n = len(trace.entities)
    backtest = replaying.replay(trace, spec, recompute_seconds=HOUR, initial_requests=(
        np.full(n, INITIAL_CPU, dtype=np.int64), np.full(n, INITIAL_MEMORY, dtype=np.int64)))

    names = [f"c{i}" for i in range(n)]
    tuner_spec = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    tuner_spec["targetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    cluster, clock = Cluster(tuner_spec, names), Clock()
    # The trace has gaps of many hours; the operator would treat them as missing metrics (Emergency, then
    # BackToNormal: no shrink for an hour), which the backtest does not model: that rule is off here.
    reconciler = Reconciler(cluster, OperatorSettings(metrics_interval_seconds=HOUR,
                                                      emergency_after_seconds=10**9), clock=clock)
    periods = len(backtest.period_starts)
    cpu = np.zeros((periods, n), dtype=np.int64)
    mem = np.zeros((periods, n), dtype=np.int64)
    for k, start in enumerate(backtest.period_starts):
        clock.now = float(start)
        previous = (trace.timestamps >= start - HOUR) & (trace.timestamps < start)
        containers = [{"name": names[int(r)], "usage": {"cpu": f"{c * 1e9:.0f}n", "memory": f"{m:.0f}"}}
                      for r, c, m in zip(trace.rows[previous], trace.cpu_cores[previous],
                                         trace.memory_bytes[previous], strict=True) if m == m]
        stamp = int(trace.timestamps[previous].max()) if previous.any() else int(start) - 300
        cluster.metrics = [{"metadata": {"namespace": NS, "name": "web-1"}, "timestamp": rfc3339(stamp),
                            "containers": containers}] if containers else []
        report = await reconciler.cycle()
        assert not report.errors, report.errors
        for i, c in enumerate(cluster.pod["spec"]["containers"]):
            cpu[k, i] = cpu_millicores(c["resources"]["requests"]["cpu"])
            mem[k, i] = memory_bytes(c["resources"]["requests"]["memory"])

    changes = int((np.diff(backtest.cpu_request_millicores, axis=0) != 0).sum())
    assert changes > 5, "the trace moves the requests: the comparison is not vacuous"
    mismatch = np.argwhere((cpu != backtest.cpu_request_millicores) | (mem != backtest.memory_request_bytes))
    assert len(mismatch) == 0, f"first differing (period, container): {mismatch[:3].tolist()} " \
        f"operator {cpu[tuple(mismatch[0])]}/{mem[tuple(mismatch[0])]} vs backtest " \
        f"{backtest.cpu_request_millicores[tuple(mismatch[0])]}/{backtest.memory_request_bytes[tuple(mismatch[0])]}"
