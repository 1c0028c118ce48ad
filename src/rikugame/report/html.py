"""The backtest HTML report: one self-contained file with tables and inline SVG plots."""

from __future__ import annotations

import html as html_escape
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rikugame.report import plots

if TYPE_CHECKING:  # report renders plain data; the simulator's types are for the type checker only
    from rikugame.sim import replaying, scoring
    from rikugame.usage_trace import Trace


class _Outcome(Protocol):
    @property
    def replay(self) -> replaying.Replay: ...
    @property
    def scores(self) -> scoring.Scores: ...
    @property
    def seconds(self) -> float: ...


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}
.fig{display:inline-block;vertical-align:top;margin:0.5em}
.note{color:#555;font-size:13px}
"""


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "x":
        return f"{value:.2f}×"
    return f"{value:.2f}"


def scores_html(outcomes: Mapping[str, _Outcome]) -> str:
    """The scores as an HTML table."""
    columns = [("CPU alloc", "cpu_alloc_ratio", "x"), ("CPU deficit", "cpu_deficit_ratio", "pct"),
               ("CPU samples over request", "cpu_over_request_ratio", "pct"),
               ("CPU slack", "cpu_relative_slack", "pct"), ("memory alloc", "memory_alloc_ratio", "x"),
               ("memory slack", "memory_relative_slack", "pct"),
               ("OOM-free entity-days", "oom_free_entity_days_ratio", "pct"),
               ("changes/entity-day mean", "changes_per_entity_day_mean", "num"),
               ("changes/entity-day p99", "changes_per_entity_day_p99", "num")]
    head = "".join(f"<th>{html_escape.escape(c[0])}</th>" for c in columns)
    rows = []
    for name, outcome in outcomes.items():
        d = outcome.scores.as_dict()
        cells = "".join(f"<td>{_fmt(d[key], kind)}</td>" for _, key, kind in columns)
        rows.append(f"<tr><td>{html_escape.escape(name)}</td>{cells}</tr>")
    return f"<table><tr><th>recommender</th>{head}</tr>{''.join(rows)}</table>"


def pick_entities(trace: Trace, count: int) -> list[int]:
    """Rows to plot: the largest CPU users first, so the plots show something."""
    totals = np.bincount(trace.rows, weights=trace.cpu_cores, minlength=len(trace.entities))
    return [int(i) for i in np.argsort(-totals)[:count]]


def write_backtest_report(path: Path, trace: Trace, outcomes: Mapping[str, _Outcome], *, title: str,
                          settings: dict[str, str], plotted_entities: int = 3) -> None:
    """Write the HTML report to ``path`` (atomically)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html_escape.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html_escape.escape(title)}</h1>"]
    parts.append("<p class='note'>" + " · ".join(
        f"{html_escape.escape(k)}: {html_escape.escape(v)}" for k, v in settings.items())
        + f" · {len(trace.entities)} entities, {trace.num_samples:,} samples</p>")
    parts.append("<h2>Scores</h2>" + scores_html(outcomes))
    parts.append("<p class='note'>alloc = Σrequest/Σusage; deficit = Σmax(usage−request,0)/Σusage; "
                 "memory limit = request, so memory over the request is an OOM exposure; a change is a "
                 "request moving by more than 10 %.</p>")
    mem_points = {n: (o.scores.memory_relative_slack or 0.0, o.scores.oom_free_entity_days_ratio or 0.0)
                  for n, o in outcomes.items() if o.scores.memory_alloc_ratio is not None}
    cpu_points = {n: (o.scores.cpu_relative_slack, 1 - o.scores.cpu_over_request_ratio)
                  for n, o in outcomes.items()}
    parts.append("<h2>Slack vs safety</h2>")
    if mem_points:
        parts.append("<div class='fig'>" + plots.scatter(
            mem_points, xlabel="memory relative slack", ylabel="OOM-free entity-days",
            title="memory: slack vs OOM-free days") + "</div>")
    parts.append("<div class='fig'>" + plots.scatter(
        cpu_points, xlabel="CPU relative slack", ylabel="samples within request",
        title="CPU: slack vs samples within request") + "</div>")
    parts.append("<h2>Usage and applied requests</h2>")
    for row in pick_entities(trace, plotted_entities):
        sel = trace.rows == row
        times = trace.timestamps[sel]
        name = trace.entities[row]
        first_k = int(next(iter(outcomes.values())).replay.sample_period[sel].min())
        last_k = int(next(iter(outcomes.values())).replay.sample_period[sel].max())
        steps = next(iter(outcomes.values())).replay.period_starts[first_k:last_k + 1]
        cpu = {n: o.replay.cpu_request_millicores[first_k:last_k + 1, row] / 1000.0 for n, o in outcomes.items()}
        parts.append(plots.usage_vs_requests(times, trace.cpu_cores[sel], steps, cpu,
                                             title=f"{name}: CPU", unit="cores"))
        if np.isfinite(trace.memory_bytes[sel]).any():
            mem = {n: o.replay.memory_request_bytes[first_k:last_k + 1, row] / 2**30 for n, o in outcomes.items()}
            parts.append(plots.usage_vs_requests(times, trace.memory_bytes[sel] / 2**30, steps, mem,
                                                 title=f"{name}: memory", unit="GiB"))
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
