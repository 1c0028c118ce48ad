"""``rikugame backtest --traffic FILE``: every horizontal policy on a request-rate trace, side by side.

Prints a table (rich) or JSON (``policies.<name>.replica_hours|overload_minutes|severe_minutes|
scaling_events_per_day|peak_replicas|mean_utilization``, for the first load scale; every scale under
``scales``), optionally writes the HTML report with the Pareto plot and ``--export-hpa`` Parquet with the HPA
settings each policy applied (``policy``, ``timestamp``, ``target_utilization_percent``, ``min_replicas``,
``max_replicas``, ``load_scale``; one row per change). With ``--restart-every DURATION`` every policy's
tuning is checkpointed to JSON bytes and rebuilt from them at each multiple of DURATION of simulated time;
the JSON then has ``checkpoint_bytes.<policy>`` = {``mean``, ``max``, ``checkpoints``} per workload (and per
scale under ``scales``).
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from rikugame.commands import options
from rikugame.core.horizontal import HorizontalPolicy
from rikugame.errors import InputError
from rikugame.files.cells import CellLocator
from rikugame.files.outputs import check_output
from rikugame.files.tables import one_line, read_columns
from rikugame.files.times import unix_seconds
from rikugame.files.values import measurement
from rikugame.sim.service import ServiceModel, TrafficTrace, simulate
from rikugame.sim.traffic import CoreDriver, Scores, oracle_scores, score

DEFAULT_SCALES = [1000.0, 100.0]
Changes = dict[tuple[str, float], list[tuple[int, int, int, int]]]
CheckpointSizes = dict[tuple[str, float], list[int]]
_WIDE = {"min_target_utilization_percent": 1, "max_target_utilization_percent": 100,
         "max_target_increase_percent": 100, "min_replicas_floor": 1, "min_replicas_cap": 1000,
         "max_replicas": 1000, "max_replicas_cap": 1000}

POLICIES: dict[str, HorizontalPolicy] = {
    "static-50": HorizontalPolicy(recommender="static", target_utilization_percent=50, min_replicas=2,
                                  **_WIDE),
    "static-65": HorizontalPolicy(recommender="static", target_utilization_percent=65, min_replicas=3,
                                  **_WIDE),
    "static-80": HorizontalPolicy(recommender="static", target_utilization_percent=80, min_replicas=2,
                                  **_WIDE),
    "tortoise": HorizontalPolicy(recommender="tortoise"),
    "rikugame": HorizontalPolicy(recommender="rikugame", min_replicas=2, min_replicas_floor=2,
                                 min_replicas_cap=1000, max_replicas=1000, max_replicas_cap=1000,
                                 max_target_utilization_percent=90, overload_budget_ratio=0.02),
    "rikugame-strict": HorizontalPolicy(recommender="rikugame", min_replicas=2, min_replicas_floor=2,
                                        min_replicas_cap=1000, max_replicas=1000, max_replicas_cap=1000,
                                        max_target_utilization_percent=90, overload_budget_ratio=0.0003),
}
"""The scenario's policies: name → the HorizontalPolicy that ``decide_horizontal`` runs with."""
DECIDE_INTERVAL_SECONDS = {"static": 3600}
"""How often the simulated operator calls decide (default every minute; static never changes)."""


def read_traffic(path: Path) -> TrafficTrace:
    """A request-rate trace: ``timestamp`` and ``requests`` per minute (missing/NaN = not covered).

    Times in any encoding of :mod:`rikugame.files.times`; counts finite and ≥ 0 (:mod:`rikugame.files.values`).
    """
    if not path.exists():
        raise InputError(f"traffic trace {path} does not exist")
    if not path.is_file():
        raise InputError(f"traffic trace {path} is not a file")
    table = read_columns(path, ("timestamp", "requests"), what="traffic trace")
    missing = {"timestamp", "requests"} - set(table.column_names)
    if missing:
        raise InputError(f"traffic trace {path} lacks column(s) {', '.join(sorted(missing))}")
    locate = CellLocator(path)
    ts = unix_seconds(table.column("timestamp"), "timestamp", locate)
    req = measurement(table.column("requests"), "requests", locate)
    if len(ts) < 2:
        raise InputError(f"traffic trace {path} has fewer than two minutes")
    order = np.argsort(ts, kind="stable")
    ts, req = ts[order], req[order]
    if not np.all(np.diff(ts) == 60):
        raise InputError(f"traffic trace {path} is not a regular 1-minute grid (timestamps 60 s apart)")
    if not np.isfinite(req[0]):
        first = np.flatnonzero(np.isfinite(req))
        if len(first) == 0:
            raise InputError(f"traffic trace {path} has no request counts")
        ts, req = ts[first[0]:], req[first[0]:]
    return TrafficTrace(ts, req, source=str(path))


def _run_one(job: tuple[str, float, TrafficTrace, int | None]
             ) -> tuple[Scores, list[tuple[int, int, int, int]], list[int]]:
    name, scale, trace, restart_every = job
    policy = POLICIES[name]
    model = ServiceModel(load_scale=scale,
                         decide_interval_seconds=DECIDE_INTERVAL_SECONDS.get(policy.recommender, 60))
    driver = CoreDriver(name, policy, model, restart_every_seconds=restart_every)
    run = simulate(trace, driver, model)
    changes = [(t, s.target_utilization_percent, s.min_replicas, s.max_replicas)
               for t, s in run.settings_changes]
    return score(run), changes, driver.checkpoint_bytes


def select_policies(recommenders: list[str]) -> list[str]:
    """Policy rows for ``-r`` names (a recommender name selects all its rows); default: all."""
    if not recommenders:
        return list(POLICIES)
    chosen = [n for n, p in POLICIES.items() if n in recommenders or p.recommender in recommenders]
    unknown = [r for r in recommenders if r not in POLICIES
               and r not in {p.recommender for p in POLICIES.values()} and r != "oracle"]
    if unknown:
        raise InputError(f"unknown horizontal policy {', '.join(unknown)}; choose from "
                         f"{', '.join(sorted(set(POLICIES) | {p.recommender for p in POLICIES.values()}))}")
    return chosen


def evaluate(trace: TrafficTrace, scales: list[float], names: list[str], workers: int | None = None,
             restart_every_seconds: int | None = None
             ) -> tuple[dict[float, dict[str, Scores]], Changes, CheckpointSizes]:
    """Scores per scale and policy (plus the oracle bound), the HPA settings changes and the checkpoint
    sizes (bytes, one per restart) per run."""
    jobs = [(name, scale, trace, restart_every_seconds) for scale in scales for name in names]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_run_one, jobs))
    else:
        results = [_run_one(job) for job in jobs]
    scores: dict[float, dict[str, Scores]] = {s: {} for s in scales}
    changes: Changes = {}
    sizes: CheckpointSizes = {}
    for (name, scale, _, _), (sc, ch, sz) in zip(jobs, results, strict=True):
        scores[scale][name] = sc
        changes[(name, scale)] = ch
        sizes[(name, scale)] = sz
    for scale in scales:
        scores[scale]["oracle"] = oracle_scores(trace, ServiceModel(load_scale=scale))
    return scores, changes, sizes


def run(*, traffic: Path, load_scales: list[float], fmt: str, report: Path | None,
        export_hpa: Path | None, recommenders: list[str], restart_every: str | None = None) -> None:
    """The CLI entry (see module docstring)."""
    if fmt not in {"table", "json"}:
        raise InputError(f"--format must be table or json, not {fmt!r}")
    restart_seconds = options.duration("--restart-every", restart_every) if restart_every is not None else None
    scales = list(load_scales) or DEFAULT_SCALES
    if any(not np.isfinite(s) or s <= 0 for s in scales):
        raise InputError("--load-scale must be positive")
    names = select_policies(recommenders)
    if export_hpa is not None:
        check_output(export_hpa, "--export-hpa")
    if report is not None:
        check_output(report, "--report")
    trace = read_traffic(traffic)
    check_scorable(trace, ServiceModel().warmup_seconds)
    scores, changes, sizes = evaluate(trace, scales, names, restart_every_seconds=restart_seconds)
    model = ServiceModel()
    if export_hpa is not None:
        write_hpa_changes(export_hpa, changes)
    if report is not None:
        from rikugame.report.traffic import write_report

        try:
            write_report(report, trace, scores, model, command=_command_line())
        except OSError as exc:
            raise InputError(f"--report {report}: {one_line(exc)}") from exc
    if fmt == "json":
        print(json.dumps(to_json(trace, scores, model, sizes if restart_seconds is not None else None),
                         indent=2))
    else:
        print_table(scores, trace)
        if restart_seconds is not None:
            print_checkpoint_sizes(sizes)


def checkpoint_summary(sizes: CheckpointSizes, scale: float) -> dict[str, dict[str, float | int]]:
    """Per policy at ``scale``: mean and max checkpoint bytes per workload, and how many were taken."""
    return {name: {"mean": round(sum(sz) / len(sz), 1) if sz else 0.0, "max": max(sz, default=0),
                   "checkpoints": len(sz)}
            for (name, sc), sz in sizes.items() if sc == scale}


def to_json(trace: TrafficTrace, scores: dict[float, dict[str, Scores]], model: ServiceModel,
            sizes: CheckpointSizes | None = None) -> dict[str, Any]:
    """The JSON document (first scale at the top, every scale under ``scales``; checkpoint sizes when the
    run restarted)."""
    scales = list(scores)
    first = scales[0]
    params = asdict(model)
    params.pop("load_scale")
    doc: dict[str, Any] = {
        "trace": trace.source,
        "load_scale": first,
        "policies": {n: s.as_dict() for n, s in scores[first].items()},
        "scales": [{"load_scale": sc, "policies": {n: s.as_dict() for n, s in scores[sc].items()}}
                   for sc in scales],
        "model": params,
    }
    if sizes is not None:
        doc["checkpoint_bytes"] = checkpoint_summary(sizes, first)
        for entry in doc["scales"]:
            entry["checkpoint_bytes"] = checkpoint_summary(sizes, entry["load_scale"])
    return doc


def print_checkpoint_sizes(sizes: CheckpointSizes) -> None:
    console = Console(file=sys.stdout, width=120)
    table = Table(title="checkpoint bytes per workload (JSON)")
    for col in ("policy", "load scale", "mean", "max", "checkpoints"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for (name, scale), sz in sizes.items():
        table.add_row(name, f"{scale:g}", f"{sum(sz) / len(sz):,.0f}" if sz else "-", f"{max(sz, default=0):,}",
                      str(len(sz)))
    console.print(table)


def print_table(scores: dict[float, dict[str, Scores]], trace: TrafficTrace) -> None:
    console = Console(file=sys.stdout, width=120)
    for scale, rows in scores.items():
        table = Table(title=f"{Path(trace.source).name or 'traffic'} × {scale:g} (days 7+ scored)")
        for col in ("policy", "replica-hours", "overload min", "severe min", "scaling events/day",
                    "peak replicas", "mean util"):
            table.add_column(col, justify="left" if col == "policy" else "right")
        for name, s in rows.items():
            table.add_row(name, f"{s.replica_hours:,.0f}", f"{s.overload_minutes:,}", f"{s.severe_minutes:,}",
                          f"{s.scaling_events_per_day:.1f}", str(s.peak_replicas),
                          f"{s.mean_utilization:.1%}")
        console.print(table)


def write_hpa_changes(path: Path, changes: Changes) -> None:
    """One row per HPA settings change of each policy (the first row = the initial settings)."""
    rows = [(name, scale, *c) for (name, scale), cs in changes.items() for c in cs]
    table = pa.table({
        "policy": pa.array([r[0] for r in rows], pa.string()),
        "timestamp": pa.array([r[2] for r in rows], pa.int64()),
        "target_utilization_percent": pa.array([r[3] for r in rows], pa.int32()),
        "min_replicas": pa.array([r[4] for r in rows], pa.int32()),
        "max_replicas": pa.array([r[5] for r in rows], pa.int32()),
        "load_scale": pa.array([r[1] for r in rows], pa.float64()),
    })
    try:
        pq.write_table(table, path)
    except OSError as exc:
        raise InputError(f"--export-hpa {path}: {one_line(exc)}") from exc


def check_scorable(trace: TrafficTrace, warmup_seconds: int) -> None:
    """InputError unless some covered minute comes after the warm-up (the scored part of the run)."""
    after = trace.timestamps - trace.timestamps[0] >= warmup_seconds
    if not (after & np.isfinite(trace.requests)).any():
        span = int(trace.timestamps[-1] - trace.timestamps[0])
        raise InputError(f"nothing to score: traffic trace {trace.source} has no request count after the "
                         f"{warmup_seconds // 86400}-day warm-up (it spans {span / 86400:.1f} days)")


def _command_line() -> str:
    return "rikugame " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("rikugame") else (
        "rikugame backtest --traffic …")
