"""``rikugame backtest --traffic FILE``: every horizontal policy on a request-rate trace, side by side.

``-f/--format`` table (rich), json / yaml (``policies.<name>.replicaHours|overloadMinutes|severeMinutes|
scalingEventsPerDay|peakReplicas|meanUtilization``, for the first load scale; every scale under ``scales``),
csv (one row per load scale and policy) or html (the report page: verdict, tables, trade-off plot, a week of
replicas/load/floor per policy, the HPA settings chosen); ``-o/--output FILE`` writes it to a file.
``--export-hpa`` writes Parquet with the HPA settings each policy applied (``policy``, ``timestamp``,
``target_utilization_percent``, ``min_replicas``, ``max_replicas``, ``behavior`` (autoscaling/v2
``spec.behavior`` as JSON: windows, policies, tolerances), ``load_scale``; one row per change).
``--scale-mode`` aggregate (default) / copy says how ``--load-scale`` grows the service (``sim.loadscale``);
``--write-budget`` adds ``rikugame@…`` rows at other HPA write budgets. With
``--restart-every DURATION`` every policy's tuning is checkpointed to JSON bytes and rebuilt from them at each
multiple of DURATION of simulated time; the JSON then has ``checkpointBytes.<policy>`` = {``mean``, ``max``,
``checkpoints``} per workload (and per scale under ``scales``).
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rikugame.commands import options
from rikugame.commands.traffic_policies import POLICIES
from rikugame.core.horizontal import HorizontalPolicy
from rikugame.core.horizontal.hpa import Behavior
from rikugame.errors import InputError, one_line
from rikugame.files.cells import CellLocator
from rikugame.files.outputs import check_output
from rikugame.files.tables import read_columns
from rikugame.files.times import unix_seconds
from rikugame.files.values import measurement
from rikugame.report import machine, page, plots
from rikugame.report import traffic as traffic_report
from rikugame.report.traffic import SettingsChange
from rikugame.sim.loadscale import SCALE_MODES, ScaleMode
from rikugame.sim.service import ServiceModel, TrafficTrace, simulate
from rikugame.sim.traffic import CoreDriver, Scores, oracle_scores, score

DEFAULT_SCALES = [1000.0, 100.0]
Changes = dict[tuple[str, float], list[tuple[int, int, int, int, str]]]
CheckpointSizes = dict[tuple[str, float], list[int]]
DECIDE_INTERVAL_SECONDS = {"static": 3600}
"""How often the simulated operator calls decide (default every minute; static never changes)."""


def behavior_json(behavior: Behavior) -> str:
    """The HPA ``spec.behavior`` as compact JSON (autoscaling/v2's spelling, tolerances as numbers)."""
    return json.dumps(behavior.to_api(), separators=(",", ":"))


def budget_policies(budgets: list[str]) -> dict[str, HorizontalPolicy]:
    """``--write-budget`` values (writes per hour, or ``unlimited``) → extra ``rikugame@…`` rows."""
    out: dict[str, HorizontalPolicy] = {}
    for text in budgets:
        if text.strip().lower() in {"unlimited", "none", "inf"}:
            out["rikugame@unlimited"] = POLICIES["rikugame"].model_copy(update={"max_writes_per_hour": None})
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= 3600):
            raise InputError(f"--write-budget: expected writes per hour in (0, 3600] or 'unlimited', got {text!r}")
        out[f"rikugame@{value:g}/h"] = POLICIES["rikugame"].model_copy(update={"max_writes_per_hour": value})
    return out


def read_traffic(path: Path) -> TrafficTrace:
    """A request-rate trace: ``timestamp`` and ``requests`` per minute (missing/NaN = not covered).

    Times in any encoding of :mod:`rikugame.files.times`; counts finite and ≥ 0 (:mod:`rikugame.files.values`).
    """
    if not path.exists():
        raise InputError(f"--traffic: {path} does not exist")
    if not path.is_file():
        raise InputError(f"--traffic: {path} is not a file")
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


Week = tuple[int, int]
"""[start, stop) Unix seconds of the week the page plots."""
WeekData = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Per minute of the week: timestamps, replicas, load (pods at 100 % of the request), minReplicas floor."""


def _run_one(job: tuple[str, float, TrafficTrace, int | None, Week | None, ScaleMode, HorizontalPolicy]
             ) -> tuple[Scores, list[tuple[int, int, int, int, str]], list[int], WeekData | None]:
    name, scale, trace, restart_every, week, scale_mode, policy = job
    model = ServiceModel(load_scale=scale, scale_mode=scale_mode,
                         decide_interval_seconds=DECIDE_INTERVAL_SECONDS.get(policy.recommender, 60))
    driver = CoreDriver(name, policy, model, restart_every_seconds=restart_every)
    run = simulate(trace, driver, model)
    changes = [(t, s.target_utilization_percent, s.min_replicas, s.max_replicas, behavior_json(s.behavior))
               for t, s in run.settings_changes]
    week_data: WeekData | None = None
    if week is not None:
        sel = (run.timestamps >= week[0]) & (run.timestamps < week[1])
        ts = run.timestamps[sel]
        change_times = np.array([c[0] for c in changes], dtype=np.int64)
        floors = np.array([c[2] for c in changes], dtype=np.float64)
        floor = floors[np.maximum(np.searchsorted(change_times, ts, side="right") - 1, 0)]
        week_data = (ts, run.replicas[sel], run.demand_cores[sel] / model.request_cores, floor)
    return score(run), changes, driver.checkpoint_bytes, week_data


def busiest_week(trace: TrafficTrace, warmup_seconds: int) -> tuple[Week | None, str]:
    """The plotted week and its rule: 7 days around the busiest scored minute (from the UTC midnight 3 days
    before it, kept inside the scored part of the trace)."""
    t = trace.timestamps
    scored = (t - t[0] >= warmup_seconds) & np.isfinite(trace.requests)
    if not scored.any():
        return None, ""
    peak = int(np.flatnonzero(scored)[np.argmax(trace.requests[scored])])
    first = int(t[np.flatnonzero(scored)[0]])
    last = int(t[-1]) + 60
    start = max(first, (int(t[peak]) // 86400 - 3) * 86400)
    start = max(first, min(start, last - 7 * 86400))
    day = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(t[peak])))
    return (start, start + 7 * 86400), (f"The week shown is chosen by a rule: the 7 days around the busiest "
                                        f"scored minute ({day}), from the UTC midnight 3 days before it.")


def select_policies(recommenders: list[str]) -> list[str]:
    """Policy rows for ``-r`` names (a recommender name selects all its rows); default: all."""
    if not recommenders:
        return list(POLICIES)
    chosen = [n for n, p in POLICIES.items() if n in recommenders or p.recommender in recommenders]
    unknown = [r for r in recommenders if r not in POLICIES
               and r not in {p.recommender for p in POLICIES.values()} and r != "oracle"]
    if unknown:
        raise InputError(f"--recommender: unknown horizontal policy {', '.join(unknown)}; choose from "
                         f"{', '.join(sorted(set(POLICIES) | {p.recommender for p in POLICIES.values()}))}")
    return chosen


@dataclass
class Evaluation:
    """Scores per scale and policy (plus the oracle bound), the HPA settings changes, the checkpoint sizes
    (bytes, one per restart) and the plotted week of every run."""

    scores: dict[float, dict[str, Scores]]
    changes: Changes
    sizes: CheckpointSizes
    weeks: dict[tuple[str, float], WeekData] = field(default_factory=dict)


def evaluate(trace: TrafficTrace, scales: list[float], names: list[str], workers: int | None = None,
             restart_every_seconds: int | None = None, week: Week | None = None,
             progress: Callable[[int, int], None] | None = None, scale_mode: ScaleMode = "aggregate",
             policies: dict[str, HorizontalPolicy] | None = None) -> Evaluation:
    """Every policy at every scale (in a process pool), then the oracle; ``progress(done, total)``.
    ``policies`` maps extra row names (e.g. write-budget variants) to their policies."""
    table = {**POLICIES, **(policies or {})}
    jobs = [(name, scale, trace, restart_every_seconds, week, scale_mode, table[name])
            for scale in scales for name in names]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    total = len(jobs) + len(scales)
    results: list[tuple[Scores, list[tuple[int, int, int, int, str]], list[int], WeekData | None] | None]
    results = [None] * len(jobs)
    done = 0
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_run_one, job): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                done += 1
                if progress is not None:
                    progress(done, total)
    else:
        for i, job in enumerate(jobs):
            results[i] = _run_one(job)
            done += 1
            if progress is not None:
                progress(done, total)
    out = Evaluation({s: {} for s in scales}, {}, {})
    for (name, scale, *_), result in zip(jobs, results, strict=True):
        assert result is not None
        sc, ch, sz, wk = result
        out.scores[scale][name] = sc
        out.changes[(name, scale)] = ch
        out.sizes[(name, scale)] = sz
        if wk is not None:
            out.weeks[(name, scale)] = wk
    for scale in scales:
        out.scores[scale]["oracle"] = oracle_scores(trace, ServiceModel(load_scale=scale, scale_mode=scale_mode))
        done += 1
        if progress is not None:
            progress(done, total)
    return out


def run(*, traffic: Path, load_scales: list[float], fmt: str, output: Path | None, report: Path | None,
        export_hpa: Path | None, recommenders: list[str], restart_every: str | None = None,
        scale_mode: str = "aggregate", write_budgets: list[str] | None = None) -> None:
    """The CLI entry (see module docstring). ``report`` is the deprecated ``--report`` (HTML besides ``fmt``)."""
    options.check_format(fmt)
    if scale_mode not in SCALE_MODES:
        raise InputError(f"--scale-mode: unknown mode {scale_mode!r}; choose from {', '.join(SCALE_MODES)}")
    mode: ScaleMode = "copy" if scale_mode == "copy" else "aggregate"
    restart_seconds = options.duration("--restart-every", restart_every) if restart_every is not None else None
    scales = list(load_scales) or DEFAULT_SCALES
    if any(not np.isfinite(s) or s <= 0 for s in scales):
        bad = next(s for s in scales if not np.isfinite(s) or s <= 0)
        raise InputError(f"--load-scale: must be a positive number, got {bad:g}")
    names = select_policies(recommenders)
    extra = budget_policies(write_budgets or [])
    names += list(extra)
    if export_hpa is not None:
        check_output(export_hpa, "--export-hpa")
    if output is not None:
        check_output(output, "--output")
    if report is not None:
        check_output(report, "--report")
        options.deprecated_report()
    trace = read_traffic(traffic)
    check_scorable(trace, ServiceModel().warmup_seconds)
    model = ServiceModel(scale_mode=mode)
    wants_page = fmt == "html" or report is not None
    week, week_rule = busiest_week(trace, model.warmup_seconds) if wants_page else (None, "")
    err = Console(stderr=True)
    err.print(f"[dim]{len(trace.timestamps):,} minutes from {trace.source}; {len(names)} policies × "
              f"{len(scales)} load scale(s)[/]", highlight=False, soft_wrap=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("HPA policies", total=len(names) * len(scales) + len(scales))

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = evaluate(trace, scales, names, restart_every_seconds=restart_seconds, week=week, progress=advance,
                          scale_mode=mode, policies=extra)
    if export_hpa is not None:
        write_hpa_changes(export_hpa, result.changes)
        options.say_wrote(export_hpa, f"{sum(len(c) for c in result.changes.values()):,} HPA settings rows")
    sizes = result.sizes if restart_seconds is not None else None
    page_args = (trace, result, model, week_rule)
    if report is not None:
        size = write_page(report, *page_args, flag="--report")
        options.say_wrote(report, options.size_text(size))
    if fmt == "html":
        if output is not None:
            size = write_page(output, *page_args, flag="--output")
            options.say_wrote(output, options.size_text(size))
        else:
            sys.stdout.write(render_page(*page_args))
    elif fmt == "table":
        text = table_text(result.scores, trace, sizes)
        options.emit(text, output)
    else:
        doc = to_json(trace, result.scores, model, sizes)
        text = {"json": machine.to_json, "yaml": machine.to_yaml}[fmt](doc) if fmt != "csv" else to_csv(
            result.scores, sizes)
        options.emit(text, output)


def _page_data(trace: TrafficTrace, result: Evaluation, model: ServiceModel
               ) -> tuple[dict[float, list[plots.WeekSeries]], dict[float, dict[str, list[SettingsChange]]]]:
    weeks: dict[float, list[plots.WeekSeries]] = {}
    changes: dict[float, dict[str, list[SettingsChange]]] = {}
    for scale, rows in result.scores.items():
        weeks[scale] = [plots.WeekSeries(name, *result.weeks[(name, scale)]) for name in rows
                        if (name, scale) in result.weeks]
        changes[scale] = {name: [SettingsChange(*c[:4]) for c in result.changes[(name, scale)]] for name in rows
                          if (name, scale) in result.changes}
    return weeks, changes


def render_page(trace: TrafficTrace, result: Evaluation, model: ServiceModel, week_rule: str) -> str:
    """The HTML page of this run."""
    weeks, changes = _page_data(trace, result, model)
    return traffic_report.render(trace, result.scores, model, weeks=weeks, week_rule=week_rule,
                                 changes=changes, command=_command_line())


def write_page(path: Path, trace: TrafficTrace, result: Evaluation, model: ServiceModel, week_rule: str, *,
               flag: str) -> int:
    """Write the page; returns its size in bytes."""
    try:
        return page.write(path, render_page(trace, result, model, week_rule))
    except OSError as exc:
        raise InputError(f"{flag}: cannot write {path}: {one_line(exc)}") from exc


def to_csv(scores: dict[float, dict[str, Scores]], sizes: CheckpointSizes | None = None) -> str:
    """One row per load scale and policy (camelCase headers)."""
    rows = []
    for scale, by_policy in scores.items():
        for name, s in by_policy.items():
            row: dict[str, Any] = {"load_scale": scale, "policy": name, **s.as_dict()}
            if sizes is not None and (name, scale) in sizes:
                row["checkpoint_bytes"] = checkpoint_summary(sizes, scale).get(name, {})
            rows.append(row)
    return machine.to_csv(rows)


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


def table_text(scores: dict[float, dict[str, Scores]], trace: TrafficTrace, sizes: CheckpointSizes | None) -> str:
    """The rich tables (one per load scale, then the checkpoint sizes when the run restarted) as text."""
    console = Console(file=io.StringIO(), width=140, record=True, force_terminal=False)
    for scale, rows in scores.items():
        table = Table(title=f"{Path(trace.source).name or 'traffic'} × {scale:g} (days 7+ scored)")
        for col in ("policy", "replica-hours", "overload min", "severe min", "scaling events/day",
                    "peak replicas", "mean util", "HPA writes/h"):
            table.add_column(col, justify="left" if col == "policy" else "right")
        for name, s in rows.items():
            table.add_row(name, f"{s.replica_hours:,.0f}", f"{s.overload_minutes:,}", f"{s.severe_minutes:,}",
                          f"{s.scaling_events_per_day:.1f}", str(s.peak_replicas),
                          f"{s.mean_utilization:.1%}", f"{s.writes_per_hour:.2f}")
        console.print(table)
    if sizes is not None:
        table = Table(title="checkpoint bytes per workload (JSON)")
        for col in ("policy", "load scale", "mean", "max", "checkpoints"):
            table.add_column(col, justify="left" if col == "policy" else "right")
        for (name, scale), sz in sizes.items():
            table.add_row(name, f"{scale:g}", f"{sum(sz) / len(sz):,.0f}" if sz else "-",
                          f"{max(sz, default=0):,}", str(len(sz)))
        console.print(table)
    return console.export_text()


def write_hpa_changes(path: Path, changes: Changes) -> None:
    """One row per HPA settings change of each policy (the first row = the initial settings)."""
    rows = [(name, scale, *c) for (name, scale), cs in changes.items() for c in cs]
    table = pa.table({
        "policy": pa.array([r[0] for r in rows], pa.string()),
        "timestamp": pa.array([r[2] for r in rows], pa.int64()),
        "target_utilization_percent": pa.array([r[3] for r in rows], pa.int32()),
        "min_replicas": pa.array([r[4] for r in rows], pa.int32()),
        "max_replicas": pa.array([r[5] for r in rows], pa.int32()),
        "behavior": pa.array([r[6] for r in rows], pa.string()),
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
