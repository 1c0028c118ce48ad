"""Wall time of every horizontal policy over the 62-day NASA-HTTP trace at ×1000 and ×100.

Run: ``.venv/bin/python bench/bench_traffic.py`` (trace from $RIKUGAME_DATA, default ../shared/data).
Prints per-run CPU seconds (serial) and the wall time of the whole scenario as the CLI runs it
(process pool over the machine's cores).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from rikugame.commands import traffic as traffic_command
from rikugame.sim.service import ServiceModel, simulate
from rikugame.sim.traffic import CoreDriver

REPO = Path(__file__).resolve().parents[1]
NASA = Path(os.environ.get("RIKUGAME_DATA", REPO.parent / "shared" / "data")) / "nasa_http_1995" / (
    "requests_1min.parquet")


def main() -> int:
    if not NASA.exists():
        print(f"skipped: {NASA} not found (set RIKUGAME_DATA)")
        return 0
    trace = traffic_command.read_traffic(NASA)
    scales = [1000.0, 100.0]
    total = 0.0
    for scale in scales:
        for name, policy in traffic_command.POLICIES.items():
            every = traffic_command.DECIDE_INTERVAL_SECONDS.get(policy.recommender, 60)
            model = ServiceModel(load_scale=scale, decide_interval_seconds=every)
            t0 = time.process_time()
            simulate(trace, CoreDriver(name, policy, model), model)
            dt = time.process_time() - t0
            total += dt
            print(f"{name:16s} ×{scale:<6g} {dt:6.2f} s CPU  ({len(trace.timestamps) * 4:,} HPA syncs)")
    print(f"all policies, both scales, serial: {total:.1f} s CPU")
    t0 = time.perf_counter()
    traffic_command.evaluate(trace, scales, list(traffic_command.POLICIES))
    print(f"scenario as the CLI runs it ({os.cpu_count()} cores): {time.perf_counter() - t0:.1f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
