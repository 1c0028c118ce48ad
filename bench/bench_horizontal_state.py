"""Checkpoint size and cost of the horizontal state, on the 62-day NASA-HTTP trace at ×1000 and ×100.

Run: ``.venv/bin/python bench/bench_horizontal_state.py [--restart-every 5h]`` (trace from $RIKUGAME_DATA,
default ../shared/data). For every policy of ``rikugame backtest --traffic`` it prints the JSON checkpoint
bytes per workload (mean and max over the restarts, and at the end of the run) and the CPU time of
observe + advance + decide (+ apply) per workload-minute, as the simulated operator calls them (observe
every minute; advance/decide every minute, hourly for static). Restart time is excluded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rikugame.backtest_command import parse_duration

from rikugame.commands import traffic as traffic_command
from rikugame.core.horizontal import HPASettings
from rikugame.sim.service import ServiceModel, TrafficTrace, simulate
from rikugame.sim.traffic import CoreDriver

REPO = Path(__file__).resolve().parents[1]
NASA = Path(os.environ.get("RIKUGAME_DATA", REPO.parent / "shared" / "data")) / "nasa_http_1995" / (
    "requests_1min.parquet")


class TimedDriver(CoreDriver):
    """CoreDriver that adds up the CPU time of the core calls (restarts excluded)."""

    core_seconds = 0.0
    restart_seconds = 0.0

    def _restart_if_due(self, now: int) -> None:
        t0 = time.process_time()
        super()._restart_if_due(now)
        self.restart_seconds += time.process_time() - t0

    def observe_minute(self, now: int, replicas: int, ready_pods: int, usage_per_pod_millicores: float,
                       demand_cores: float) -> None:
        t0 = time.process_time()
        super().observe_minute(now, replicas, ready_pods, usage_per_pod_millicores, demand_cores)
        self.core_seconds += time.process_time() - t0

    def decide(self, now: int, replicas: int) -> HPASettings | None:
        t0 = time.process_time()
        out = super().decide(now, replicas)
        self.core_seconds += time.process_time() - t0
        return out


def one(job: tuple[str, float, TrafficTrace, int]) -> tuple[str, float, list[int], int, float, int]:
    name, scale, trace, restart_every = job
    policy = traffic_command.POLICIES[name]
    model = ServiceModel(load_scale=scale,
                         decide_interval_seconds=traffic_command.DECIDE_INTERVAL_SECONDS.get(policy.recommender, 60))
    driver = TimedDriver(name, policy, model, restart_every_seconds=restart_every)
    simulate(trace, driver, model)
    final = len(json.dumps(driver.tuning.to_checkpoint(), separators=(",", ":")).encode())
    return (name, scale, driver.checkpoint_bytes, final, driver.core_seconds - driver.restart_seconds,
            len(trace.timestamps))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restart-every", default="5h")
    args = parser.parse_args()
    if not NASA.exists():
        print(f"skipped: {NASA} not found (set RIKUGAME_DATA)")
        return 0
    trace = traffic_command.read_traffic(NASA)
    restart = parse_duration(args.restart_every, "--restart-every")
    jobs = [(name, scale, trace, restart) for scale in (1000.0, 100.0) for name in traffic_command.POLICIES]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        results = list(pool.map(one, jobs))
    print(f"NASA-HTTP, {len(trace.timestamps):,} minutes, restart every {args.restart_every}")
    print(f"{'policy':16s} {'scale':>6s} {'ckpt mean B':>11s} {'ckpt max B':>10s} {'at end B':>8s} "
          f"{'µs/workload-minute':>18s}")
    for name, scale, sizes, final, seconds, minutes in results:
        mean = sum(sizes) / len(sizes) if sizes else 0.0
        print(f"{name:16s} {scale:>6g} {mean:>11,.0f} {max(sizes, default=0):>10,} {final:>8,} "
              f"{seconds / minutes * 1e6:>18.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
