"""One workload's past usage from Prometheus: what the operator backfills a new Tuner with.

Tortoise and the VPA both start a new object empty and gather for days; with ``--prometheus`` the
operator reads the workload's history once, through the report's own discovery (kube-state-metrics owner
chains) and per-pod usage queries, so a new Tuner decides from weeks of data on day one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rikugame.sources.kube_discovery import Fleet, discover
from rikugame.sources.kube_usage import Batch, SampleChunk, UsageQueries, stream_samples
from rikugame.sources.prometheus import FloatArray, IntArray, PrometheusClient
from rikugame.sources.promql import Scope, alternation, escape


@dataclass
class ContainerHistory:
    """One container's samples (all its pods, time-sorted per pod) and OOM kills."""

    timestamps: IntArray
    cpu_cores: FloatArray
    memory_bytes: FloatArray
    oom_timestamps: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    oom_memory_bytes: FloatArray = field(default_factory=lambda: np.zeros(0, np.float64))


@dataclass
class PrometheusHistory:
    """Reads one workload's container usage over ``history_seconds`` at ``step_seconds`` resolution."""

    prom: PrometheusClient
    history_seconds: int = 14 * 86400
    step_seconds: int = 60
    queries: UsageQueries = field(default_factory=UsageQueries)

    async def workload_history(self, namespace: str, kind: str, name: str, end: int) -> dict[str, ContainerHistory]:
        """Per container name, the samples of every pod the workload had in the window ending at ``end``
        (empty when Prometheus knows no such workload)."""
        scope = Scope(namespaces=(namespace,))
        fleet = await discover(self.prom, scope, end=end, history_seconds=self.history_seconds,
                               kinds=frozenset({kind}))
        mine = [c for c in fleet.containers if (c.namespace, c.kind, c.workload) == (namespace, kind, name)]
        owner_id = f"{kind}/{name}"
        pods = sorted(pod for (_, ns, pod), owner in fleet.pods.items() if ns == namespace and owner == owner_id)
        if not mine or not pods:
            return {}
        own = Fleet(containers=mine, pods={(c, ns, p): o for (c, ns, p), o in fleet.pods.items() if p in pods
                                           and ns == namespace}, index={c: i for i, c in enumerate(mine)})
        batch = Batch(mine[0].cluster, (f'namespace="{escape(namespace)}"', f'pod=~"{alternation(pods)}"'), len(pods))
        chunks: list[SampleChunk] = []
        await stream_samples(self.prom, own, scope, self.queries, start=end - self.history_seconds, end=end,
                             step_seconds=self.step_seconds, batches=[batch], consume=chunks.append)
        out: dict[str, ContainerHistory] = {}
        for row, key in enumerate(mine):
            parts = [(c.timestamps[c.rows == row], c.cpu_cores[c.rows == row], c.memory_bytes[c.rows == row])
                     for c in chunks]
            kills = np.array([fleet.index.get(key, -2) == r for r in fleet.oom_rows], dtype=bool)
            out[key.container] = ContainerHistory(
                np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64),
                np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.float64),
                np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.float64),
                fleet.oom_timestamps[kills] if len(kills) else np.zeros(0, np.int64),
                fleet.oom_limit_bytes[kills] if len(kills) else np.zeros(0, np.float64))
        return out
