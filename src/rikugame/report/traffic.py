"""The HTML report of ``backtest --traffic``: a Pareto plot (replica-hours vs overload minutes) per load
scale as inline SVG (matplotlib), the results table, the model parameters and the data's provenance."""

from __future__ import annotations

import html
import io
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rikugame.errors import InputError

if TYPE_CHECKING:  # report renders plain data; the simulator's types are for the type checker only
    from rikugame.sim.service import ServiceModel, TrafficTrace
    from rikugame.sim.traffic import Scores


def pareto_svg(scale: float, rows: dict[str, Scores]) -> str:
    """Inline SVG: one point per policy, cheaper = left, safer = down."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, s in rows.items():
        marker = "*" if name.startswith("rikugame") else ("s" if name == "oracle" else "o")
        ax.scatter(s.replica_hours, s.overload_minutes, marker=marker, s=80 if marker == "*" else 40)
        ax.annotate(name, (s.replica_hours, s.overload_minutes), textcoords="offset points", xytext=(5, 5),
                    fontsize=8)
    ax.set_xlabel("replica-hours (all pods)")
    ax.set_ylabel("overload minutes (usage > request)")
    ax.set_title(f"load × {scale:g}: lower-left is better")
    ax.grid(True, alpha=0.3)
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def write_report(path: Path, trace: TrafficTrace, scores: dict[float, dict[str, Scores]], model: ServiceModel,
                 *, command: str) -> None:
    """A self-contained HTML file."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>rikugame — horizontal backtest</title>",
             "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto}"
             "table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
             "</style></head><body>",
             "<h1>Horizontal backtest: HPA policies on a request-rate trace</h1>",
             f"<p>Trace: <code>{html.escape(trace.source)}</code> (NASA-HTTP 1995 per-minute request counts; "
             "M. Arlitt and C. Williamson, SIGMETRICS 1996; see the trace's PROVENANCE.md). "
             f"Command: <code>{html.escape(command)}</code></p>"]
    params = asdict(model)
    params.pop("load_scale")
    parts.append("<h2>Model</h2><ul>" + "".join(
        f"<li>{html.escape(k)} = {html.escape(str(v))}</li>" for k, v in params.items()) + "</ul>")
    for scale, rows in scores.items():
        parts.append(f"<h2>Load × {scale:g}</h2>")
        parts.append(pareto_svg(scale, rows))
        parts.append("<table><tr><th>policy</th><th>replica-hours</th><th>overload min</th>"
                     "<th>severe min</th>"
                     "<th>scaling events/day</th><th>peak replicas</th><th>mean utilisation</th></tr>")
        for name, s in rows.items():
            parts.append(f"<tr><td>{html.escape(name)}</td><td>{s.replica_hours:,.0f}</td>"
                         f"<td>{s.overload_minutes:,}</td><td>{s.severe_minutes:,}</td>"
                         f"<td>{s.scaling_events_per_day:.1f}</td><td>{s.peak_replicas}</td>"
                         f"<td>{s.mean_utilization:.1%}</td></tr>")
        parts.append("</table>")
    parts.append("<p>oracle = knows the next minute's load (a lower bound, not an HPA policy).</p>"
                 "</body></html>")
    try:
        path.write_text("\n".join(parts), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write report {path}: {exc}") from exc
