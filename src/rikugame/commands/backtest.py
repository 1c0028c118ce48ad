"""``rikugame backtest`` and ``rikugame demo``: wire trace → replay → scores → table/JSON/HTML/Parquet."""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from rikugame.commands import options
from rikugame.core import recommenders
from rikugame.errors import ConfigError, InputError, one_line
from rikugame.files.outputs import check_output
from rikugame.report import html, machine
from rikugame.sim import profiles, replaying, risk_curve, scoring
from rikugame.sources import traces

DEMO_TRACE = "bitbrains-sample.parquet"
@dataclass(frozen=True)
class Outcome:
    """One recommender's replay and scores."""

    replay: replaying.Replay
    scores: scoring.Scores
    seconds: float


def run_recommenders(trace: traces.Trace, names: list[str], *, recompute_seconds: int, warmup_seconds: int,
                     policy: dict[str, Any] | None, oom_feedback: bool, restart_every_seconds: int | None = None,
                     console: Console | None = None) -> dict[str, Outcome]:
    """Replay and score every recommender, with a progress bar on ``console``."""
    outcomes: dict[str, Outcome] = {}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console or Console(stderr=True),
                  transient=True, disable=console is None or not console.is_terminal) as progress:
        for name in names:
            try:
                spec = profiles.backtest_spec(name, policy)
            except ValidationError as exc:
                raise ConfigError(f"--policy: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc
            task = progress.add_task(f"{name:<12}", total=None)
            started = time.perf_counter()

            def advance_bar(done: int, total: int, task: TaskID = task) -> None:
                progress.update(task, completed=done, total=total)

            result = replaying.replay(
                trace, spec, recompute_seconds=recompute_seconds, oom_feedback=oom_feedback,
                restart_every_seconds=restart_every_seconds, progress=advance_bar)
            scores = scoring.score(trace, result, warmup_seconds=warmup_seconds)
            outcomes[name] = Outcome(result, scores, time.perf_counter() - started)
            progress.update(task, visible=False)
    return outcomes


def _pct(value: float | None) -> str:
    return "—" if value is None or np.isnan(value) else f"{value * 100:.2f}%"


def _x(value: float | None) -> str:
    return "—" if value is None or np.isnan(value) else f"{value:.2f}×"


def scores_table(outcomes: dict[str, Outcome], title: str) -> Table:
    """The comparison table (one row per recommender), narrow enough for an 80-column terminal.

    Slack and timings are in the JSON output and the HTML report.
    """
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    headers = ("recommender", "CPU\nalloc", "CPU\ndefic.", "CPU\n>req", "mem\nalloc",
               "OOM-free\ndays", "kills\n/1kd", "chg/\nday", "chg\np99")
    for header in headers:
        table.add_column(header, justify="left" if header == "recommender" else "right",
                         no_wrap=True)
    for name, o in outcomes.items():
        s = o.scores
        table.add_row(name, _x(s.cpu_alloc_ratio), _pct(s.cpu_deficit_ratio), _pct(s.cpu_over_request_ratio),
                      _x(s.memory_alloc_ratio), _pct(s.oom_free_entity_days_ratio),
                      "—" if s.oom_kills_per_1000_entity_days is None else f"{s.oom_kills_per_1000_entity_days:.0f}",
                      f"{s.changes_per_entity_day_mean:.2f}", f"{s.changes_per_entity_day_p99:.0f}")
    return table


def risk_curve_table(curve: list[risk_curve.RiskPoint]) -> Table:
    """The memory risk knob's curve, one row per setting."""
    table = Table(title="rikugame memory risk knob (recommenderSettings.memoryHeadroomCapBytes)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("headroom cap", "mem alloc", "OOM-free days", "kills/1k days"):
        table.add_column(header, justify="right", no_wrap=True)
    for p in curve:
        table.add_row(f"{p.cap_bytes / 2**20:,.0f}Mi", _x(p.memory_alloc_ratio), _pct(p.oom_free_entity_days_ratio),
                      f"{p.oom_kills_per_1000_entity_days:.1f}")
    return table


def export_requests_file(trace: traces.Trace, result: replaying.Replay, path: Path) -> int:
    """Write the applied request timeline (DESIGN.md "Backtest export contract"); returns the row count."""
    first_period = np.full(len(trace.entities), np.iinfo(np.int64).max, dtype=np.int64)
    last_period = np.full(len(trace.entities), -1, dtype=np.int64)
    np.minimum.at(first_period, trace.rows, result.sample_period)
    np.maximum.at(last_period, trace.rows, result.sample_period)
    cpu, mem, lim = result.cpu_request_millicores, result.memory_request_bytes, result.memory_limit_bytes
    periods = np.arange(len(result.period_starts))
    entity_col: list[str] = []
    ts_parts, cpu_parts, mem_parts, lim_parts = [], [], [], []
    kd = result.kill_decisions
    for row, name in enumerate(trace.entities):
        if last_period[row] < 0:
            continue
        k = periods[first_period[row]:last_period[row] + 1]
        t, c, m = result.period_starts[k], cpu[k, row], mem[k, row]
        li = lim[k, row] if lim is not None else np.full(len(k), -1)
        if kd is not None and (at := kd.rows == row).any():  # resizes at OOM kills, after their period's
            order = np.argsort(np.concatenate([t, kd.timestamps[at]]), kind="stable")
            t = np.concatenate([t, kd.timestamps[at]])[order]
            c = np.concatenate([c, kd.cpu_millicores[at]])[order]
            m = np.concatenate([m, kd.memory_bytes[at]])[order]
            li = np.concatenate([li, kd.memory_limit_bytes[at]])[order]
        keep = np.ones(len(t), dtype=bool)
        keep[1:] = (c[1:] != c[:-1]) | (m[1:] != m[:-1]) | (li[1:] != li[:-1])
        entity_col.extend([name] * int(keep.sum()))
        ts_parts.append(t[keep])
        cpu_parts.append(c[keep] / 1000.0)
        mem_parts.append(m[keep])
        lim_parts.append(li[keep])
    limits = np.concatenate(lim_parts) if lim_parts else np.zeros(0, dtype=np.int64)
    table = pa.table({
        "entity": pa.array(entity_col, pa.string()),
        "timestamp": pa.array(np.concatenate(ts_parts) if ts_parts else [], pa.int64()),
        "cpu_request_cores": pa.array(np.concatenate(cpu_parts) if cpu_parts else [], pa.float64()),
        "memory_request_bytes": pa.array(np.concatenate(mem_parts) if mem_parts else [], pa.int64()),
        "memory_limit_bytes": pa.array(limits, pa.int64(), mask=limits < 0),
    })
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, tmp)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"--export-requests {path}: {one_line(exc)}") from exc
    return int(table.num_rows)


def _export_path(base: Path, name: str, many: bool) -> Path:
    return base.with_name(f"{base.stem}-{name}{base.suffix or '.parquet'}") if many else base


def resolve_recommenders(names: list[str]) -> list[str]:
    """Validate names (InputError listing the valid ones); empty means all."""
    available = recommenders.names()
    if not names:
        return ["vpa", "krr-simple", "tortoise", "window", "rikugame"]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InputError(f"--recommender: unknown recommender {unknown[0]!r}; choose from: {', '.join(available)}")
    return list(dict.fromkeys(names))


def run_backtest(*, data: Path, recommenders: list[str], recompute: str, warmup: str,
                 export_requests: Path | None, fmt: str, report: Path | None, policy: Path | None,
                 report_flag: bool = True,
                 oom_feedback: bool, max_entities: int | None,
                 restart_every: str | None = None, output: Path | None = None,
                 memory_risk_curve: bool = False) -> dict[str, Outcome]:
    """The ``backtest`` command: ``fmt`` to ``output`` (stdout without one); ``report`` is the deprecated
    ``--report FILE`` (the HTML page, written besides ``fmt``; ``report_flag``: the user typed it, so it is
    warned about — the demo writes its page the same way without the warning)."""
    options.check_format(fmt)
    names = resolve_recommenders(recommenders)
    recompute_seconds = options.duration("--recompute", recompute)
    warmup_seconds = options.duration("--warmup", warmup) if warmup not in ("0", "0s") else 0
    restart_every_seconds = options.duration("--restart-every", restart_every) if restart_every else None
    if memory_risk_curve and "rikugame" not in names:
        raise InputError("--memory-risk-curve: the knob is rikugame's; add -r rikugame")
    if max_entities is not None and max_entities < 1:
        raise InputError(f"--max-entities: expected a positive number of entities, got {max_entities}")
    spec = options.load_tuner_spec(policy)
    if export_requests is not None:
        for name in names:
            check_output(_export_path(export_requests, name, len(names) > 1), "--export-requests")
    if output is not None:
        check_output(output, "--output")
    if report is not None:
        check_output(report, "--report")
        if report_flag:
            options.deprecated_report()
    trace = traces.load_trace(data, max_entities=max_entities)
    err = Console(stderr=True)
    for line in trace.warnings:
        err.print(f"[yellow]warning:[/] {trace.source}: {line}", highlight=False, soft_wrap=True)
    check_scorable(trace, warmup, warmup_seconds, err)
    if memory_risk_curve and not trace.has_memory:
        raise InputError("--memory-risk-curve: the trace has no memory_bytes to score")
    err.print(f"[dim]{trace.num_samples:,} samples of {len(trace.entities)} entities from {trace.source}; "
              f"recompute every {recompute}, warm-up {warmup}[/]", highlight=False, soft_wrap=True)
    outcomes = run_recommenders(trace, names, recompute_seconds=recompute_seconds,
                                warmup_seconds=warmup_seconds, policy=spec, oom_feedback=oom_feedback,
                                restart_every_seconds=restart_every_seconds, console=err)
    curve = None
    if memory_risk_curve:
        curve = risk_curve.memory_risk_curve(trace, profiles.backtest_spec("rikugame", spec),
                                             recompute_seconds=recompute_seconds, warmup_seconds=warmup_seconds,
                                             oom_feedback=oom_feedback)
    if export_requests is not None:
        for name, outcome in outcomes.items():
            path = _export_path(export_requests, name, len(outcomes) > 1)
            rows = export_requests_file(trace, outcome.replay, path)
            options.say_wrote(path, f"{rows:,} request rows of {name}")
    settings = report_settings(recompute, warmup, oom_feedback)
    pages = [(p, flag) for p, flag in ((report, "--report"), (output if fmt == "html" else None, "--output"))
             if p is not None]
    for page_path, flag in pages:
        try:
            size = html.write_backtest_report(page_path, trace, outcomes, warmup_seconds=warmup_seconds,
                                              settings=settings, risk_curve=curve)
        except OSError as exc:
            raise InputError(f"{flag}: cannot write {page_path}: {one_line(exc)}") from exc
        options.say_wrote(page_path, options.size_text(size))
    if fmt == "html":
        if output is None:
            sys.stdout.write(html.render_backtest(trace, outcomes, warmup_seconds=warmup_seconds,
                                                  settings=settings, risk_curve=curve))
        return outcomes
    doc = backtest_doc(trace, outcomes, recompute_seconds=recompute_seconds, warmup_seconds=warmup_seconds,
                       oom_feedback=oom_feedback, restart_every_seconds=restart_every_seconds)
    if curve is not None:
        doc["memory_risk_curve"] = {"knob": f"recommenderSettings.{risk_curve.KNOB_WIRE}",
                                    "points": [p.as_dict() for p in curve]}
    if fmt == "json":
        text = machine.to_json(doc)
    elif fmt == "yaml":
        text = machine.to_yaml(doc)
    elif fmt == "csv":
        text = machine.to_csv([{"trace": doc["trace"], **row} for row in doc["recommenders"].values()])
    else:
        console = Console(file=io.StringIO(), record=True, width=Console().width if output is None else 120,
                          force_terminal=False)
        console.print(scores_table(outcomes, f"{len(trace.entities)} entities, {trace.num_samples:,} samples"))
        if curve is not None:
            console.print(risk_curve_table(curve))
        text = console.export_text()
    options.emit(text, output)
    return outcomes


def backtest_doc(trace: traces.Trace, outcomes: dict[str, Outcome], *, recompute_seconds: int,
                 warmup_seconds: int, oom_feedback: bool, restart_every_seconds: int | None) -> dict[str, Any]:
    """The run as plain data (snake_case; the machine formats write it in camelCase)."""
    return {
        "trace": trace.source, "entities": len(trace.entities), "samples": trace.num_samples,
        "recompute_seconds": recompute_seconds, "warmup_seconds": warmup_seconds,
        "oom_feedback": oom_feedback,
        "restart_every_seconds": restart_every_seconds,
        "recommenders": {n: {**o.scores.as_dict(), "seconds": round(o.seconds, 3),
                             **({"checkpoints": o.replay.checkpoints.as_dict()} if o.replay.checkpoints else {})}
                         for n, o in outcomes.items()},
    }


def report_settings(recompute: str, warmup: str, oom_feedback: bool) -> dict[str, str]:
    """How the run was set up, in words, for the page's first line."""
    return {"decided every": recompute, "warm-up": warmup,
            "memory over the limit": "fed back as OOM kills" if oom_feedback else "counted as exposures, not kills"}


def span_text(seconds: int) -> str:
    """``2d 3h``, ``5h 10m``, ``45s``: a span for a message."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return " ".join(parts[:2]) or "0s"


def check_scorable(trace: traces.Trace, warmup: str, warmup_seconds: int, err: Console) -> None:
    """InputError if no entity outlasts the warm-up (nothing could be scored); a warning if some don't.

    An entity is scored from ``first timestamp + warm-up`` on, so it needs a span ≥ the warm-up.
    """
    present = np.bincount(trace.rows, minlength=len(trace.entities)) > 0
    spans = np.where(present, trace.spans_seconds(), -1)
    short = present & (spans < warmup_seconds)
    if short.sum() == present.sum():
        longest = int(np.argmax(spans))
        raise InputError(f"nothing to score: every entity spans less than the warm-up ({warmup}); the longest, "
                         f"{trace.entities[longest]!r}, spans {span_text(int(spans[longest]))} — "
                         f"give a longer trace or a shorter --warmup")
    if short.any():
        err.print(f"[yellow]warning:[/] {int(short.sum())} of {int(present.sum())} entities span less than "
                  f"the warm-up ({warmup}) and are not scored", highlight=False, soft_wrap=True)


def demo_trace_path() -> Path:
    """The bundled sample trace."""
    return Path(str(resources.files("rikugame.data").joinpath(DEMO_TRACE)))


def run_demo(output: Path, fmt: str = "html") -> dict[str, Outcome]:
    """The ``demo`` command: every recommender on the bundled sample; the table on stdout and the page (or
    ``fmt``) in ``output``."""
    if fmt == "html":
        outcomes = run_backtest(data=demo_trace_path(), recommenders=[], recompute="1h", warmup="24h",
                                export_requests=None, fmt="table", report=output, policy=None, report_flag=False,
                                oom_feedback=False, max_entities=None)
        Console(stderr=True).print(f"open [bold]{output}[/] for the verdict, the scores and the plots",
                                   highlight=False)
        return outcomes
    return run_backtest(data=demo_trace_path(), recommenders=[], recompute="1h", warmup="24h",
                        export_requests=None, fmt=fmt, output=output, report=None, policy=None,
                        oom_feedback=False, max_entities=None)
