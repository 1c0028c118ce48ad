#!/usr/bin/env python3
"""How cheap can memory requests be at a given OOM safety? The frontier of causal rules, and its oracle.

Usage: .venv/bin/python bench/memory_frontier.py [--data ../shared/data/bitbrains_rnd] [--quick]

Memory requests are replayed hour by hour from per-(entity, hour) maxima and sums of the trace, with
rikugame's recommended guardrails (a decrease at most every 6 h, by at most 30 %), the backtest's
24 h warm-up and its scoring (alloc = Σrequest / Σusage, an entity-day is OOM-free when no sample of it
is above the request). The rule ``max over 168 h + max(10 %, min(512Mi, peak))`` reproduces
``rikugame backtest`` on Bitbrains (7.66x / 97.59 %), which is the check that the evaluator is faithful.

Rule families (every one causal: the request for hour k uses hours < k only):

* ``max W h capC``: max over the last W hours + max(10 %, min(C MiB, peak));
* ``min(MW, lastL h xF) capC``: the same peak, but at most F times the max of the last L hours (a workload
  that has been quiet for L hours is assumed to grow by at most F within the next hour).

Then the **hindsight oracle**: for each entity, the one rule that minimises bytes + λ × OOM days over the
whole trace, for a sweep of λ. No causal selector can beat it with these rules; where it crosses
97.4 % OOM-free days is a floor for any online choice among them. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rikugame.sources.traces import load_trace

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitbrains_rnd"
MIB = 2**20
HOUR = 3600
DAY = 86400
Rule = Callable[[int], np.ndarray]


class HourlyMemory:
    """Per-(entity, hour) memory maxima, sums and counts of a trace, with the backtest's scoring."""

    def __init__(self, data: Path) -> None:
        trace = load_trace(data)
        self.entities = len(trace.entities)
        t0 = int(trace.timestamps.min() // HOUR * HOUR)
        hour = (trace.timestamps - t0) // HOUR
        self.hours = int(hour.max()) + 1
        shape = (self.entities, self.hours)
        ok = np.isfinite(trace.memory_bytes)
        rows, hour, mem = trace.rows[ok], hour[ok], trace.memory_bytes[ok].astype(np.float64)
        self.peak = np.full(shape, -np.inf)
        np.maximum.at(self.peak, (rows, hour), mem)
        self.total = np.zeros(shape)
        np.add.at(self.total, (rows, hour), mem)
        self.count = np.zeros(shape)
        np.add.at(self.count, (rows, hour), 1)
        self.valid = self.count > 0
        first_seen = np.argmax(self.valid, axis=1)
        self.scored = self.valid & (np.arange(self.hours)[None, :] >= first_seen[:, None] + 24)
        self.day = (t0 + np.arange(self.hours) * HOUR) // DAY
        self.day -= self.day[0]

    def window_max(self, hours: int) -> np.ndarray:
        """Column k = max over hours k − ``hours`` .. k − 1 (NaN when none of them has data)."""
        padded = np.concatenate([np.full((self.entities, hours), -np.inf), self.peak], axis=1)
        out = sliding_window_view(padded, hours, axis=1).max(axis=2)
        return np.where(np.isfinite(out), out, np.nan)

    def replay(self, rule: Rule, *, interval_hours: int = 6, step: float = 0.3,
               minimum: float = 32 * MIB) -> np.ndarray:
        """Requests per (entity, hour) from ``rule`` with the scale-down guardrails; NaN = no data, hold."""
        req = np.zeros((self.entities, self.hours))
        current = np.full(self.entities, -1.0)
        last_decrease = np.full(self.entities, -(10**9))
        for k in range(self.hours):
            proposal = rule(k)
            proposal = np.where(np.isfinite(proposal), np.maximum(proposal, minimum), np.maximum(current, 0))
            has = current > 0
            down = has & (proposal < current)
            proposal = np.where(down & (k - last_decrease < interval_hours), current, proposal)
            proposal = np.where(has, np.maximum(proposal, np.ceil(current * (1 - step))), proposal)
            last_decrease = np.where(has & (proposal < current), k, last_decrease)
            current = proposal
            req[:, k] = proposal
        return req

    def per_entity(self, req: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(requested byte-samples, OOM days) per entity over the scored hours."""
        requested = (req * self.count * self.scored).sum(axis=1)
        over = (self.peak > req) & self.scored
        oom_days = np.zeros(self.entities)
        for d in np.unique(self.day):
            cols = self.day == d
            oom_days += over[:, cols].any(axis=1)
        return requested, oom_days

    def days_scored(self) -> int:
        """Entity-days with at least one scored sample."""
        return int(sum(self.scored[:, self.day == d].any(axis=1).sum() for d in np.unique(self.day)))


def headroom(peak: np.ndarray, cap_mib: float, fraction: float = 0.10) -> np.ndarray:
    """peak + max(fraction × peak, min(cap, peak)) — rikugame's memory headroom."""
    return peak + np.maximum(fraction * peak, np.minimum(cap_mib * MIB, peak))


def rules(h: HourlyMemory, quick: bool) -> dict[str, Rule]:
    """The rule families described in the module docstring."""
    windows = (72, 168, 336) if quick else (48, 72, 120, 168, 336, 672)
    caps = (512, 1024) if quick else (256, 512, 1024, 2048)
    maxima = {w: h.window_max(w) for w in (*windows, 1, 3, 6)}
    out: dict[str, Rule] = {}
    for w in windows:
        for cap in caps:
            out[f"max {w}h cap{cap}"] = lambda k, m=maxima[w], c=cap: headroom(m[:, k], c)
    for w in (168, 336):
        for last in (1, 3, 6):
            for factor in (3, 5):
                for cap in (512, 1024):
                    out[f"min(M{w}, last {last}h x{factor}) cap{cap}"] = (
                        lambda k, m=maxima[w], q=maxima[last], f=factor, c=cap:
                        headroom(np.fmin(m[:, k], q[:, k] * f), c))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--quick", action="store_true", help="fewer rules (a quick look)")
    args = parser.parse_args()
    started = time.perf_counter()
    h = HourlyMemory(args.data)
    usage = float((h.total * h.scored).sum())
    if usage <= 0:
        raise SystemExit(f"{args.data}: no memory samples (the trace has no memory_bytes)")
    days = h.days_scored()
    print(f"{args.data}: {h.entities} entities x {h.hours} hours, {days:,} scored entity-days "
          f"(prepared in {time.perf_counter() - started:.1f} s)")
    names, requested, oom = [], [], []
    for name, rule in rules(h, args.quick).items():
        r, o = h.per_entity(h.replay(rule))
        names.append(name)
        requested.append(r)
        oom.append(o)
        print(f"  {name:34s} alloc {r.sum() / usage:6.3f}x   OOM-free days {1 - o.sum() / days:7.2%}", flush=True)
    req_arr, oom_arr = np.array(requested), np.array(oom)
    rows = np.arange(h.entities)
    print("hindsight oracle (per entity, the rule minimising bytes + λ × OOM days over the whole trace):")
    sweep = []
    for lam in np.geomspace(1e12, 1e14, 41):
        choice = np.argmin(req_arr + lam * oom_arr, axis=0)
        sweep.append((req_arr[choice, rows].sum() / usage, 1 - oom_arr[choice, rows].sum() / days))
    for alloc, safe in sweep[::4]:
        print(f"  alloc {alloc:6.3f}x   OOM-free days {safe:7.2%}")
    allocs, safes = np.array(sweep).T
    for bar in (0.974, 0.976):
        print(f"  oracle at {bar:.1%} OOM-free days: {np.interp(bar, safes, allocs):.2f}x (interpolated)")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
