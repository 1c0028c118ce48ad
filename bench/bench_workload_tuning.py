"""What one Tuner's decision core costs: time per observe / advance / decide, checkpoint bytes, and RSS for
many workloads in one process (the operator's design point, issue 10/11).

    .venv/bin/python bench/bench_workload_tuning.py [--days 28] [--fleet 10000] [--recommender rikugame]

Synthetic usage (a daily cycle with lognormal noise, one sample per minute per container), fed hour by hour
as the operator would after each metrics list; the whole cycle runs through ``WorkloadTuning``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from rikugame.core.policy import TunerSpec
from rikugame.core.workload import ContainerResources, WorkloadTuning

T0 = 1_700_000_000 // 3600 * 3600
HOUR = 3600
GIB = 2**30


def spec(recommender: str) -> TunerSpec:
    return TunerSpec.model_validate({"targetRef": {"name": "bench"}, "recommender": recommender, "mode": "Auto"})


def hour_of_usage(rng: np.random.Generator, containers: int, hour: int) -> tuple[np.ndarray, ...]:
    ts = T0 + hour * HOUR + np.arange(60) * 60
    daily = 1 + 0.5 * np.sin(2 * np.pi * ts / 86400)
    rows = np.repeat(np.arange(containers), 60)
    cpu = np.tile(0.3 * daily, containers) * rng.lognormal(0, 0.3, 60 * containers)
    mem = np.tile(0.5 * GIB * (1 + 0.1 * daily), containers) * rng.uniform(0.95, 1.05, 60 * containers)
    return rows, np.tile(ts, containers), cpu, mem


def one_workload(recommender: str, containers: int, days: int) -> dict[str, float]:
    """Mean cost of each step over ``days`` of hourly cycles, and the final checkpoint size."""
    from rikugame.core.samples import UsageSamples

    rng = np.random.default_rng(1)
    names = [f"c{i}" for i in range(containers)]
    tuning = WorkloadTuning(spec(recommender), names)
    tuning.set_current({n: ContainerResources(1000, GIB, -1, GIB) for n in names})
    spent = {"observe": 0.0, "advance": 0.0, "decide": 0.0, "apply": 0.0}
    hours = days * 24
    for h in range(hours):
        now = T0 + h * HOUR
        t = time.perf_counter()
        tuning.advance(now)
        spent["advance"] += time.perf_counter() - t
        t = time.perf_counter()
        decision = tuning.decide(now)
        spent["decide"] += time.perf_counter() - t
        t = time.perf_counter()
        tuning.apply(decision)
        spent["apply"] += time.perf_counter() - t
        t = time.perf_counter()
        tuning.observe(UsageSamples.of(*hour_of_usage(rng, containers, h)))
        spent["observe"] += time.perf_counter() - t
    data = json.dumps(tuning.to_checkpoint(), separators=(",", ":"))
    t = time.perf_counter()
    WorkloadTuning.from_checkpoint(spec(recommender), json.loads(data))
    restore = time.perf_counter() - t
    return {**{k: v / hours * 1e3 for k, v in spent.items()}, "checkpoint_bytes": len(data),
            "restore_ms": restore * 1e3}


def fleet(recommender: str, workloads: int, hours: int) -> dict[str, float]:
    """``workloads`` one-container tunings in one process: build time, RSS, and one cycle over all of them."""
    from rikugame.core.samples import UsageSamples

    rng = np.random.default_rng(2)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    tunings = [WorkloadTuning(spec(recommender), ["app"]) for _ in range(workloads)]
    built = time.perf_counter() - t
    usage = [UsageSamples.of(*hour_of_usage(rng, 1, h)) for h in range(hours)]
    cycle = 0.0
    for h in range(hours):
        now = T0 + h * HOUR
        t = time.perf_counter()
        for tuning in tunings:
            tuning.advance(now)
            tuning.apply(tuning.decide(now))
            tuning.observe(usage[h])
        cycle = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"workloads": workloads, "build_s": built, "last_cycle_s": cycle,
            "per_workload_cycle_ms": cycle / workloads * 1e3, "rss_mib": rss / 1024,
            "rss_growth_mib": (rss - rss0) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--fleet", type=int, default=10_000)
    parser.add_argument("--fleet-hours", type=int, default=3)
    parser.add_argument("--recommender", default="rikugame")
    args = parser.parse_args()
    for containers in (1, 4):
        r = one_workload(args.recommender, containers, args.days)
        print(f"{args.recommender}, {containers} container(s), {args.days} days hourly: "
              f"observe {r['observe']:.2f} ms, advance {r['advance']:.2f} ms, decide {r['decide']:.2f} ms, "
              f"apply {r['apply']:.3f} ms per hour; checkpoint {r['checkpoint_bytes']:,} B "
              f"({r['checkpoint_bytes'] / containers:,.0f} B per container), restore {r['restore_ms']:.1f} ms")
    f = fleet(args.recommender, args.fleet, args.fleet_hours)
    print(f"{args.recommender}, {f['workloads']:,} one-container workloads in one process: built in "
          f"{f['build_s']:.1f} s; one hourly cycle (advance + decide + apply + observe 60 samples) "
          f"{f['last_cycle_s']:.1f} s = {f['per_workload_cycle_ms']:.2f} ms per workload; "
          f"max RSS {f['rss_mib']:,.0f} MiB (+{f['rss_growth_mib']:,.0f} MiB for the fleet)")


if __name__ == "__main__":
    main()
