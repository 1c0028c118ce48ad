"""The curve of rikugame's knobs on the NASA-HTTP trace: overload budget × HPA write budget.

Run: ``nice -n 10 .venv/bin/python bench/traffic_knob_curve.py [--scale-mode aggregate|copy] [--load-scale N]
[--overload 0.02,0.01,...] [--writes unlimited,2,1,0.5]`` (trace from $RIKUGAME_DATA, default ../shared/data).
Prints, per setting, replica-hours, overload and severe minutes and HPA writes per hour over the scored days
(7–62), next to the next-minute oracle; one simulation per setting, serially (~10 s CPU each).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rikugame.commands import traffic as traffic_command
from rikugame.sim.service import ServiceModel, simulate
from rikugame.sim.traffic import CoreDriver, oracle_scores, score

REPO = Path(__file__).resolve().parents[1]
NASA = Path(os.environ.get("RIKUGAME_DATA", REPO.parent / "shared" / "data")) / "nasa_http_1995" / (
    "requests_1min.parquet")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale-mode", default="aggregate", choices=["aggregate", "copy"])
    parser.add_argument("--load-scale", type=float, default=1000.0)
    parser.add_argument("--overload", default="0.02,0.01,0.005,0.001,0.0003")
    parser.add_argument("--writes", default="unlimited,2")
    args = parser.parse_args()
    if not NASA.exists():
        print(f"skipped: {NASA} not found (set RIKUGAME_DATA)")
        return 0
    trace = traffic_command.read_traffic(NASA)
    model = ServiceModel(load_scale=args.load_scale, scale_mode=args.scale_mode)
    oracle = oracle_scores(trace, model)
    print(f"NASA-HTTP ×{args.load_scale:g} ({args.scale_mode}), days 7–62; oracle {oracle.replica_hours:,.0f} "
          f"replica-hours")
    print("| overload budget | write budget | replica-hours | × oracle | overload min | severe min | writes/h |")
    print("|---|---|---|---|---|---|---|")
    for writes in args.writes.split(","):
        for overload in (float(v) for v in args.overload.split(",")):
            budget = None if writes == "unlimited" else float(writes)
            policy = traffic_command.POLICIES["rikugame"].model_copy(
                update={"overload_budget_ratio": overload, "max_writes_per_hour": budget})
            s = score(simulate(trace, CoreDriver("rikugame", policy, model), model))
            ratio = s.replica_hours / oracle.replica_hours
            print(f"| {overload:.2%} | {writes} | {s.replica_hours:,.0f} | {ratio:.3f} | {s.overload_minutes:,}"
                  f" | {s.severe_minutes:,} | {s.writes_per_hour:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
