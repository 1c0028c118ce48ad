#!/usr/bin/env python3
"""How many replica-hours does a forecast floor need at a given number of overload minutes?

Usage: .venv/bin/python bench/traffic_frontier.py [--trace FILE] [--load-scale 1000] [--budget 842]

An offline model of issue 5's scenario without the HPA loop: the capacity of minute t is
n(t) = max(2, ceil(c × P(t) / 0.95)) pods (0.95 core of each 1-core pod serves demand, 0.05 is the base),
minute t is overloaded when demand(t) / n(t) + 0.05 > 1, and replica-hours are Σ n(t) / 60 over the
scored minutes (days 7–62, covered minutes). For each forecast P, c is found by bisection so that the
overload minutes are within the budget. Pods never wait to get ready here (the simulator's figures differ).

Two kinds of forecasts:
* **causal** — from minutes < t only: trailing means and maxima, mean + z·sqrt(mean) (Poisson-like noise);
* **clairvoyant** — the centred mean of minutes t − k … t + k (minute t itself included, weight 1/(2k+1)),
  i.e. knowing the local level k minutes ahead.

The gap between them says how much foresight a replica-hour target asks for. Prints figures, asserts
nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

DEFAULT_TRACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "nasa_http_1995" / "requests_1min.parquet"
CPU_SECONDS_PER_REQUEST = 0.010
BASE_CORES = 0.05
WARMUP_MINUTES = 7 * 1440


def demand_cores(trace: Path, load_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Demand per minute (NaN minutes carry the last value) and the mask of scored minutes."""
    requests = pq.read_table(trace, columns=["requests"])["requests"].to_numpy(zero_copy_only=False)
    covered = np.isfinite(requests)
    last = np.where(covered, np.arange(len(requests)), 0)
    np.maximum.accumulate(last, out=last)
    demand = np.where(covered[last], requests[last], 0.0) * load_scale * CPU_SECONDS_PER_REQUEST / 60
    scored = covered.copy()
    scored[:WARMUP_MINUTES] = False
    return demand, scored


def trailing_mean(d: np.ndarray, k: int) -> np.ndarray:
    """Mean of minutes t − k … t − 1."""
    csum = np.concatenate(([0.0], np.cumsum(d)))
    i = np.arange(len(d))
    lo = np.maximum(i - k, 0)
    return (csum[i] - csum[lo]) / np.maximum(i - lo, 1)


def centred_mean(d: np.ndarray, k: int) -> np.ndarray:
    """Mean of minutes t − k … t + k (clairvoyant)."""
    csum = np.concatenate(([0.0], np.cumsum(d)))
    i = np.arange(len(d))
    lo, hi = np.clip(i - k, 0, len(d)), np.clip(i + k + 1, 0, len(d))
    return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)


def replica_hours_at(forecast: np.ndarray, demand: np.ndarray, scored: np.ndarray, budget: int) -> tuple[float, int]:
    """Smallest-scale capacity ceil(c × forecast / 0.95) with ≤ ``budget`` overload minutes."""
    per_pod = 1.0 - BASE_CORES

    def pods(c: float) -> np.ndarray:
        return np.maximum(np.ceil(forecast * c / per_pod), 2)

    def overloaded(n: np.ndarray) -> int:
        return int(((demand / n + BASE_CORES > 1.0) & scored).sum())

    lo, hi = 0.3, 8.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if overloaded(pods(mid)) > budget:
            lo = mid
        else:
            hi = mid
    n = pods(hi)
    return float(n[scored].sum() / 60), overloaded(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--load-scale", type=float, default=1000.0)
    parser.add_argument("--budget", type=int, default=842, help="overload minutes allowed")
    args = parser.parse_args()
    demand, scored = demand_cores(args.trace, args.load_scale)
    noise = args.load_scale * CPU_SECONDS_PER_REQUEST / 60  # cores per request: Poisson sd = sqrt(mean × this)

    def with_sqrt_margin(level: np.ndarray, z: float) -> np.ndarray:
        return level + z * np.sqrt(np.maximum(level, 0) * noise * 4)

    forecasts: dict[str, Callable[[], np.ndarray]] = {}
    for k in (5, 10, 30):
        for z in (2.0, 3.0):
            forecasts[f"causal: mean of last {k} min + {z:g}·sqrt"] = (
                lambda k=k, z=z: with_sqrt_margin(trailing_mean(demand, k), z))
    for k in (2, 5, 15):
        for z in (2.0, 3.0):
            forecasts[f"clairvoyant: centred ±{k} min + {z:g}·sqrt"] = (
                lambda k=k, z=z: with_sqrt_margin(centred_mean(demand, k), z))
    print(f"{args.trace.name} ×{args.load_scale:g}, {int(scored.sum()):,} scored minutes, "
          f"budget {args.budget} overload minutes")
    for name, make in forecasts.items():
        hours, over = replica_hours_at(make(), demand, scored, args.budget)
        print(f"  {name:42s} {hours:9,.0f} replica-hours  ({over} overload minutes)")


if __name__ == "__main__":
    main()
