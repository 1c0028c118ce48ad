"""Scoring a replay: slack, contention, OOM exposure and churn, as defined in the README.

* alloc = Σrequest / Σusage; deficit = Σmax(usage − request, 0) / Σusage;
  relative slack = Σ(request − usage) / Σrequest (over scored samples, i.e. after the warm-up).
* CPU over request = fraction of samples with usage > request (contention).
* Memory: limit = request, so usage > limit is an OOM exposure; an entity-day (UTC) is OOM-free when
  none of its scored samples is. OOM kills per 1,000 entity-days counts the scored samples above the limit
  in force at their time (each one is a kill: the container restarts; with OOM feedback the tuning reacts to
  each at once), per 1,000 scored entity-days.
* A change = the CPU or the memory request moving by more than 10 % from one period to the next;
  counted per entity-day (days with scored samples, zero-change days included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rikugame.sim.replaying import Replay
from rikugame.usage_trace import Trace

DAY = 86400


@dataclass(frozen=True)
class Scores:
    """Scores of one recommender on one trace."""

    recommender: str
    entities: int
    scored_samples: int
    entity_days: int
    cpu_alloc_ratio: float
    cpu_deficit_ratio: float
    cpu_over_request_ratio: float
    cpu_relative_slack: float
    memory_alloc_ratio: float | None
    memory_relative_slack: float | None
    memory_over_limit_ratio: float | None
    oom_free_entity_days_ratio: float | None
    oom_kills_per_1000_entity_days: float | None
    changes_per_entity_day_mean: float
    changes_per_entity_day_p99: float

    def as_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def score(trace: Trace, replay: Replay, *, warmup_seconds: int = DAY, change_threshold: float = 0.10) -> Scores:
    """Score ``replay`` of ``trace``; the first ``warmup_seconds`` of every entity are not scored."""
    rows = trace.rows
    first = np.full(len(trace.entities), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, rows, trace.timestamps)
    scored = trace.timestamps >= first[rows] + warmup_seconds
    r = rows[scored]
    cpu_at, mem_at, lim_at = replay.sample_requests(rows)
    cpu_use = trace.cpu_cores[scored]
    cpu_req = cpu_at[scored] / 1000.0
    has_cpu = np.isfinite(cpu_use)  # memory-only samples (exported report traces) have no CPU
    if not has_cpu.all():
        cpu_use, cpu_req = cpu_use[has_cpu], cpu_req[has_cpu]
    cpu_total = float(cpu_use.sum())

    day_key = r * 1_000_000 + trace.timestamps[scored] // DAY
    days, day_of_sample = np.unique(day_key, return_inverse=True)

    mem_alloc = mem_slack = mem_over = oom_free = kills_per_1000 = None
    mem_use = trace.memory_bytes[scored]
    has_mem = np.isfinite(mem_use)
    if has_mem.any():
        mem_req = mem_at[scored].astype(np.float64)
        mu, mr = mem_use[has_mem], mem_req[has_mem]
        mem_alloc = _ratio(mr.sum(), mu.sum())
        mem_slack = _ratio((mr - mu).sum(), mr.sum())
        if lim_at is not None:
            limit = lim_at[scored].astype(np.float64)[has_mem]
            killed = (limit >= 0) & (mu > limit)  # -1: no limit
            mem_over = float(killed.mean())
            kills_per_1000 = 1000.0 * float(killed.sum()) / len(days) if len(days) else float("nan")
            day_killed = np.zeros(len(days), dtype=bool)
            np.logical_or.at(day_killed, day_of_sample[has_mem], killed)
            oom_free = float(1.0 - day_killed.mean())

    # Churn: changes between consecutive periods, attributed to the day of the new period.
    cpu_r = replay.cpu_request_millicores.astype(np.float64)
    mem_r = replay.memory_request_bytes.astype(np.float64)
    moved = np.zeros_like(cpu_r, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        moved[1:] = np.abs(cpu_r[1:] - cpu_r[:-1]) > change_threshold * cpu_r[:-1]
        moved[1:] |= np.abs(mem_r[1:] - mem_r[:-1]) > change_threshold * mem_r[:-1]
    k_idx, row_idx = np.nonzero(moved)
    change_times = replay.period_starts[k_idx]
    live = change_times >= first[row_idx] + warmup_seconds
    change_keys = row_idx[live] * 1_000_000 + change_times[live] // DAY
    pos = np.searchsorted(days, change_keys)
    pos_ok = (pos < len(days)) & (days[np.minimum(pos, len(days) - 1)] == change_keys)
    per_day = np.bincount(pos[pos_ok], minlength=len(days)).astype(np.float64)

    return Scores(
        recommender=replay.recommender,
        entities=len(np.unique(r)),
        scored_samples=int(scored.sum()),
        entity_days=len(days),
        cpu_alloc_ratio=_ratio(cpu_req.sum(), cpu_total),
        cpu_deficit_ratio=_ratio(np.maximum(cpu_use - cpu_req, 0).sum(), cpu_total),
        cpu_over_request_ratio=float((cpu_use > cpu_req).mean()) if len(cpu_use) else float("nan"),
        cpu_relative_slack=_ratio((cpu_req - cpu_use).sum(), cpu_req.sum()),
        memory_alloc_ratio=mem_alloc,
        memory_relative_slack=mem_slack,
        memory_over_limit_ratio=mem_over,
        oom_free_entity_days_ratio=oom_free,
        oom_kills_per_1000_entity_days=kills_per_1000,
        changes_per_entity_day_mean=float(per_day.mean()) if len(per_day) else 0.0,
        changes_per_entity_day_p99=float(np.percentile(per_day, 99)) if len(per_day) else 0.0,
    )
