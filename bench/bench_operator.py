"""The operator against the real control plane with many Tuners: API requests per cycle, writes per workload
per hour in steady state, reconcile time per Tuner, operator RSS, checkpoint bytes (issue 11).

    .venv/bin/python bench/bench_operator.py [--tuners 1000] [--cycles 6]

Starts the harness (kube-apiserver, controller-manager, scheduler, kwok nodes, metrics-server; built by
tools/build-k8s), creates N one-pod Deployments with kwok usage and one Tuner in Auto for each, then runs the
Reconciler cycle after cycle (no wait in between; at the default 60 s interval the per-hour figures below are
per-cycle figures × 60, plus one checkpoint per Tuner per hour). The steady state is the last two cycles,
after the first resizes, statuses and the backlog of first checkpoints (written under a 10 s budget per
cycle). Requests are counted at the operator's ClusterAccess.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from e2e_workloads import oversized_deployment
from kubernetes_asyncio.client import ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.config import new_client_from_config

from kubeharness.binaries import binaries_dir
from kubeharness.cluster import Cluster
from kubeharness.kwok import node_manifest
from rikugame.cluster.kube_access import KubeAccess
from rikugame.cluster.names import GROUP, TUNERS, VERSION
from rikugame.manifests.crds import tuner_checkpoint_crd, tuner_crd
from rikugame.operator.reconciler import Reconciler
from rikugame.operator.settings import OperatorSettings

NS = "bench"
WRITES = ("patch_tuner_status", "resize_pod", "write_checkpoint", "apply_hpa", "emit_event")


class CountingAccess(KubeAccess):
    """KubeAccess that counts its API calls by method and the checkpoint bytes written."""

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self.calls: Counter[str] = Counter()
        self.checkpoint_bytes: list[int] = []
        for name in ("list_tuners", "list_pods", "replicaset_owners", "list_pod_metrics", "list_hpas", "list_workloads",
                     "read_checkpoint", "patch_tuner_status", "resize_pod", "emit_event", "kill_switch",
                     "apply_hpa"):
            self._wrap(name)

    def _wrap(self, name: str) -> None:
        inner = getattr(self, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await inner(*args, **kwargs)

        setattr(self, name, counted)

    async def write_checkpoint(self, namespace: str, name: str, owner: dict[str, Any], data: str) -> None:
        self.calls["write_checkpoint"] += 1
        self.checkpoint_bytes.append(len(data))
        await super().write_checkpoint(namespace, name, owner, data)


async def setup(kubeconfig: Path, tuners: int) -> None:
    api = await new_client_from_config(config_file=str(kubeconfig))
    async with api:
        ext, apps, core, custom = ApiextensionsV1Api(api), AppsV1Api(api), CoreV1Api(api), CustomObjectsApi(api)
        for crd in (tuner_crd(), tuner_checkpoint_crd()):  # the generated CRDs: statuses are validated
            await ext.create_custom_resource_definition(crd)
        await core.create_namespace({"metadata": {"name": NS}})
        await asyncio.sleep(2)
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with sem:
                await apps.create_namespaced_deployment(NS, oversized_deployment(f"w{i}"))
                await custom.create_namespaced_custom_object(GROUP, VERSION, NS, TUNERS, {
                    "apiVersion": f"{GROUP}/{VERSION}", "kind": "Tuner", "metadata": {"name": f"w{i}"},
                    "spec": {"targetRef": {"kind": "Deployment", "name": f"w{i}"}, "mode": "Auto"}})

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(tuners)))
        print(f"created {tuners} Deployments and Tuners in {time.perf_counter() - started:.0f} s", flush=True)
        while True:
            pods = (await core.list_namespaced_pod(NS)).items
            running = sum(1 for p in pods if p.status.phase == "Running")
            if running >= tuners:
                break
            print(f"  {running}/{tuners} pods running", flush=True)
            await asyncio.sleep(5)
        print(f"{running} pods running after {time.perf_counter() - started:.0f} s", flush=True)


async def measure(kubeconfig: Path, tuners: int, cycles: int) -> None:
    api = await new_client_from_config(config_file=str(kubeconfig))
    async with api:
        access = CountingAccess(api)
        reconciler = Reconciler(access, OperatorSettings(namespace=NS))
        rows = []
        for k in range(cycles):
            before = Counter(access.calls)
            report = await reconciler.cycle()
            calls = access.calls - before
            rows.append((k, report, calls))
            by_kind = {m: calls[m] for m in WRITES if calls[m]}
            print(f"cycle {k}: {report.seconds:6.1f} s ({report.seconds / tuners * 1e3:.2f} ms per Tuner), "
                  f"{sum(calls.values())} API calls ({sum(by_kind.values())} writes: {by_kind}), "
                  f"{report.samples} samples, {len(report.errors)} errors", flush=True)
        steady = rows[-2:]  # after the first resizes, statuses and the checkpoint backlog (10 s budget per cycle)
        reads = sum(sum(c.values()) for _, _, c in steady) / len(steady)
        writes = sum(sum(c[m] for m in WRITES) for _, _, c in steady) / len(steady)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sizes = access.checkpoint_bytes
        print(json.dumps({
            "tuners": tuners,
            "steady_api_requests_per_cycle": round(reads, 1),
            "steady_api_requests_per_minute_at_60s": round(reads, 1),
            "steady_writes_per_workload_per_hour_at_60s": round(writes / tuners * 60, 3),
            "steady_cycle_seconds": round(sum(r.seconds for _, r, _ in steady) / len(steady), 2),
            "reconcile_ms_per_tuner": round(sum(r.seconds for _, r, _ in steady) / len(steady) / tuners * 1e3, 3),
            "operator_process_max_rss_mib": round(rss),
            "checkpoint_bytes_mean": round(sum(sizes) / len(sizes)) if sizes else 0,
            "checkpoint_bytes_max": max(sizes, default=0),
        }, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuners", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=8)
    args = parser.parse_args()
    cluster = Cluster(binaries_dir())
    try:
        cluster.start_api()
        cluster.start_e2e()
        # The harness's 3 nodes hold 110 pods each: add big kwok nodes for the fleet.
        for i in range(3):
            node = node_manifest(f"bench-node-{i}", cpu="2000", memory="8Ti", pods=str(args.tuners))
            cluster.kube.create("/api/v1/nodes", node)
        asyncio.run(setup(cluster.kubeconfig, args.tuners))
        time.sleep(25)  # metrics-server: two scrapes of every pod
        asyncio.run(measure(cluster.kubeconfig, args.tuners, args.cycles))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
