#!/usr/bin/env python3
"""The curve of rikugame's memory risk knob: memory allocated against OOM-free entity-days.

Usage: .venv/bin/python bench/memory_risk_curve.py [--data ../shared/data/bitbrains_rnd] [--oom-feedback]
       [--max-entities N] [--cap-mib 0 --cap-mib 256 …] [--memory-decrease-hours 12]

The knob is ``recommenderSettings.memoryHeadroomCapBytes`` (default 1 GiB): the bytes of headroom above the
time-of-day peak. Every point is a replay of the trace through the backtest's own ``VerticalTuning`` with
only the knob changed (``rikugame.sim.risk_curve``; 1 h recompute, 24 h warm-up, scored as the README
does), so the default setting reproduces ``rikugame backtest``'s memory figures. Prints the curve, the
OOM-free share the curve reaches at a given allocation and the allocation it needs for a given OOM-free
share (linear interpolation between neighbouring settings). Asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from rikugame.sim import profiles, risk_curve
from rikugame.sources.traces import load_trace

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitbrains_rnd"
MIB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-entities", type=int, default=None)
    parser.add_argument("--oom-feedback", action="store_true", help="react to kills (as the operator does)")
    parser.add_argument("--cap-mib", type=float, action="append", default=None,
                        help="settings to sweep, MiB (repeatable; default 0 … 2048)")
    parser.add_argument("--memory-decrease-hours", type=float, default=None,
                        help="least time between memory decreases (default: rikugame's preset, 24 h)")
    parser.add_argument("--alloc", type=float, action="append", default=None,
                        help="allocations to read the curve at (default 6.37)")
    parser.add_argument("--oom-free", type=float, action="append", default=None,
                        help="OOM-free shares to read the curve at (default 0.955 and 0.974)")
    args = parser.parse_args()
    started = time.perf_counter()
    trace = load_trace(args.data, max_entities=args.max_entities)
    caps = [int(c * MIB) for c in args.cap_mib] if args.cap_mib else list(risk_curve.DEFAULT_CAPS_BYTES)
    print(f"{args.data}: {len(trace.entities)} entities, {trace.num_samples:,} samples; OOM feedback "
          f"{'on (reacting at the kill)' if args.oom_feedback else 'off'}")
    print(f"{'memoryHeadroomCapBytes':>24s} {'mem alloc':>10s} {'OOM-free days':>14s} {'kills/1k days':>14s}")

    spec = profiles.backtest_spec("rikugame")
    if args.memory_decrease_hours is not None:
        spec = profiles.backtest_spec("rikugame", {"bounds": profiles.WIDE_BOUNDS, "vertical": {
            "memoryScaleDownIntervalSeconds": int(args.memory_decrease_hours * 3600)}})
        print(f"memory decreases at most every {args.memory_decrease_hours:g} h")
    points: list[risk_curve.RiskPoint] = []
    for cap in caps:
        p = risk_curve.memory_risk_curve(trace, spec, caps_bytes=[cap],
                                         oom_feedback=args.oom_feedback)[0]
        points.append(p)
        print(f"{cap / MIB:>20,.0f} MiB {p.memory_alloc_ratio:>9.3f}x {p.oom_free_entity_days_ratio:>14.2%} "
              f"{p.oom_kills_per_1000_entity_days:>14.1f}", flush=True)
    allocs = np.array([p.memory_alloc_ratio for p in points])
    safes = np.array([p.oom_free_entity_days_ratio for p in points])
    order = np.argsort(allocs)
    for alloc in args.alloc or [6.37]:
        print(f"at {alloc:.2f}x: {np.interp(alloc, allocs[order], safes[order]):.2%} OOM-free days (interpolated)")
    order = np.argsort(safes)
    for safe in args.oom_free or [0.955, 0.974]:
        print(f"for {safe:.1%} OOM-free days: {np.interp(safe, safes[order], allocs[order]):.3f}x (interpolated)")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
