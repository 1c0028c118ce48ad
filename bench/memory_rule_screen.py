#!/usr/bin/env python3
"""The screening behind rikugame's time-of-day memory rule: every variant tried, on one trace.

Usage: .venv/bin/python bench/memory_rule_screen.py [--data ../shared/data/bitbrains_rnd]

Memory requests are replayed hour by hour with ``bench/memory_frontier.py``'s evaluator (per-(entity, hour)
maxima, the backtest's 24 h warm-up and scoring; it reproduces ``rikugame backtest`` within ~0.02x and
~0.02 points of OOM-free days). Every rule is causal (the request for hour k reads hours < k). The
columns are memory alloc (Σrequest / Σusage), OOM-free entity-days and memory-only changes per entity-day
(> 10 %, p99 and mean). The README ("Memory: the time-of-day rule") lists which constants these rows
chose; they were screened on the shared Bitbrains trace only (Azure has no memory), so a held-out set
may put the best setting elsewhere. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from memory_frontier import DEFAULT_DATA, MIB, HourlyMemory

Rule = Callable[[int], np.ndarray]


def shifted_max(h: HourlyMemory, offsets: list[int]) -> np.ndarray:
    """Column k = max over hours k − o for o in ``offsets`` (NaN when none has data)."""
    out = np.full(h.peak.shape, -np.inf)
    for o in offsets:
        out[:, o:] = np.maximum(out[:, o:], h.peak[:, :-o])
    return np.where(np.isfinite(out), out, np.nan)


def time_of_day_max(h: HourlyMemory, days: int, half_hours: int) -> np.ndarray:
    """Max over the hours within ±``half_hours`` of the time of day, today and on the last ``days`` days."""
    return shifted_max(h, sorted({24 * d - j for d in range(days + 1) for j in range(-half_hours, half_hours + 1)
                                  if 24 * d - j >= 1}))


def changes(h: HourlyMemory, req: np.ndarray) -> tuple[float, float]:
    """Memory-only changes (> 10 %) per scored entity-day: (p99, mean)."""
    moved = np.zeros_like(req, dtype=bool)
    moved[:, 1:] = np.abs(req[:, 1:] - req[:, :-1]) > 0.1 * req[:, :-1]
    moved &= h.scored
    per = np.concatenate([moved[:, h.day == d].sum(axis=1)[h.scored[:, h.day == d].any(axis=1)]
                          for d in np.unique(h.day)])
    return float(np.percentile(per, 99)), float(per.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    started = time.perf_counter()
    h = HourlyMemory(args.data)
    usage = float((h.total * h.scored).sum())
    days = h.days_scored()
    m = {w: h.window_max(w)[:, :h.hours] for w in (24, 48, 72, 168, 336)}
    tod = {(d, w): time_of_day_max(h, d, w) for d, w in ((14, 2), (7, 2), (21, 2), (28, 2), (14, 1), (14, 3))}

    def capped(base: np.ndarray, fraction: float, cap_mib: float) -> Rule:
        return lambda k: base[:, k] + np.maximum(fraction * base[:, k], np.minimum(cap_mib * MIB, base[:, k]))

    def floor_tod(d: int = 14, w: int = 2, recent: int = 24, week: int = 168) -> np.ndarray:
        return np.fmin(np.fmax(tod[(d, w)], m[recent]), m[week])

    tod_only = np.fmin(tod[(14, 2)], m[168])
    rows: list[tuple[str, Rule, int, float]] = [
        ("before: max 7d + max(10%, min(512Mi, p)), 6h/30%", capped(m[168], 0.10, 512), 6, 0.3),
        ("min(tod14±2, 7d) + max(10%, min(512Mi)), 6h/30%", capped(tod_only, 0.10, 512), 6, 0.3),
        ("min(tod14±2, 7d) + max(10%, min(1Gi)), 6h/30%", capped(tod_only, 0.10, 1024), 6, 0.3),
        ("min(tod14±2, 7d) + max(10%, min(2Gi)), 6h/30%", capped(tod_only, 0.10, 2048), 6, 0.3),
    ]
    for iv, st in ((24, 0.3), (24, 0.5), (24, 1.0)):
        for cap in (1024, 2048):
            rows.append((f"min(tod14±2, 7d) + max(10%, min({cap}Mi)), {iv}h/{st:.0%}",
                         capped(tod_only, 0.10, cap), iv, st))
    for recent in (24, 48, 72):
        for cap in (512, 768):
            rows.append((f"min(max(tod14±2, {recent}h), 7d) + max(10%, min({cap}Mi)), 24h/100%",
                         capped(floor_tod(recent=recent), 0.10, cap), 24, 1.0))
    for d, w in ((7, 2), (21, 2), (28, 2), (14, 1), (14, 3)):
        rows.append((f"min(max(tod{d}±{w}, 24h), 7d) + min(1Gi, p), 24h/100%",
                     capped(floor_tod(d, w), 0.0, 1024), 24, 1.0))
    rows.append(("min(max(tod14±2, 24h), 14d) + min(1Gi, p), 24h/100%",
                 capped(floor_tod(week=336), 0.0, 1024), 24, 1.0))
    for fraction in (0.0, 0.05, 0.10):
        for cap in (256, 512, 1024, 2048):
            rows.append((f"min(max(tod14±2, 24h), 7d) + max({fraction:.0%}, min({cap}Mi, p)), 24h/100%",
                         capped(floor_tod(), fraction, cap), 24, 1.0))
    for iv in (6, 12):
        for cap in (256, 384, 1024):
            rows.append((f"min(max(tod14±2, 24h), 7d) + min({cap}Mi, p), {iv}h/100%",
                         capped(floor_tod(), 0.0, cap), iv, 1.0))
    print(f"{args.data}: {h.entities} entities, {days:,} scored entity-days")
    print(f"{'rule (tod = time-of-day max; interval/step of memory decreases)':72s} {'alloc':>7s} "
          f"{'OOM-free':>9s} {'p99':>4s} {'mean':>5s}")
    for name, rule, interval, step in rows:
        req = h.replay(rule, interval_hours=interval, step=step)
        r, o = h.per_entity(req)
        p99, mean = changes(h, req)
        print(f"{name:72s} {r.sum() / usage:6.3f}x {1 - o.sum() / days:9.2%} {p99:4.0f} {mean:5.2f}", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
