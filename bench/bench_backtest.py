#!/usr/bin/env python3
"""Benchmark of the vertical backtest and the histograms; prints figures, asserts nothing.

Usage: .venv/bin/python bench/bench_backtest.py [--data ../shared/data/bitbrains_rnd] [-r vpa -r rikugame]

Prints (a) backtest throughput in samples/s over the whole trace per recommender (load, replay and
scoring timed separately), (b) histogram add and percentile throughput, (c) peak RSS of this process.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from rikugame.core.histograms import CPU_LAYOUT, Histograms
from rikugame.sim import profiles, replaying, scoring
from rikugame.sources import traces

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitbrains_rnd"


def peak_rss_mib() -> float:
    """Peak resident set size of this process, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_backtest(data: Path, names: list[str]) -> None:
    started = time.perf_counter()
    trace = traces.load_trace(data)
    load_s = time.perf_counter() - started
    print(f"trace: {trace.source}: {trace.num_samples:,} samples, {len(trace.entities)} entities, "
          f"loaded in {load_s:.2f} s")
    for name in names:
        t0 = time.perf_counter()
        result = replaying.replay(trace, profiles.backtest_spec(name))
        t1 = time.perf_counter()
        scores = scoring.score(trace, result)
        t2 = time.perf_counter()
        total = t2 - t0
        print(f"backtest {name:<11} replay {t1 - t0:6.2f} s  scoring {t2 - t1:5.2f} s  total {total:6.2f} s  "
              f"{trace.num_samples / total:12,.0f} samples/s  periods {len(result.period_starts)}  "
              f"(CPU alloc {scores.cpu_alloc_ratio:.2f}x)")


def bench_histograms() -> None:
    rng = np.random.default_rng(0)
    rows, n = 1000, 2_000_000
    h = Histograms(CPU_LAYOUT, rows, 86400.0)
    r = rng.integers(0, rows, n)
    v = rng.lognormal(-1, 1, n)
    t = 1_400_000_000 + np.sort(rng.integers(0, 14 * 86400, n))
    t0 = time.perf_counter()
    for chunk in range(0, n, 200_000):
        h.add(r[chunk:chunk + 200_000], v[chunk:chunk + 200_000], t[chunk:chunk + 200_000])
    add_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    reps = 200
    for _ in range(reps):
        h.percentile(0.9)
    pct_s = time.perf_counter() - t0
    print(f"histogram add: {n / add_s:12,.0f} samples/s ({rows} rows, decaying)")
    print(f"histogram percentile: {reps * rows / pct_s:12,.0f} row read-outs/s ({rows} rows x {reps})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("-r", "--recommender", action="append", default=None)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"trace not found: {args.data} (pass --data)")
    bench_backtest(args.data, args.recommender or ["vpa", "rikugame"])
    bench_histograms()
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
