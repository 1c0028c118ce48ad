"""The HTML page of ``backtest --traffic`` (HPA policies on a request-rate trace), in the look of
``report.page``: the verdict (replica-hours and overload minutes of ``rikugame`` against ``static-80`` and
``tortoise``, the references of issue 13's bar), per load scale the table with better/worse arrows against
``static-80``, the trade-off plot
(percent axes, better ↗), replicas / load / minReplicas over a chosen week for every policy, and the HPA
settings every policy chose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rikugame.report import page, plots

if TYPE_CHECKING:  # report renders plain data; the simulator's types are for the type checker only
    from rikugame.sim.service import ServiceModel, TrafficTrace
    from rikugame.sim.traffic import Scores

HEADLINE = "rikugame"
REFERENCES = ("static-80", "tortoise")


@dataclass(frozen=True)
class SettingsChange:
    """The HPA settings a policy applied from ``timestamp`` on."""

    timestamp: int
    target_utilization_percent: int
    min_replicas: int
    max_replicas: int


def trace_title(source: str) -> str:
    """``nasa_http_1995/requests_1min.parquet``: the file with its folder, never the absolute path."""
    p = Path(source)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def _change_text(new: float, old: float) -> str:
    if old <= 0:
        return "—"
    return f"{(new - old) / old * 100:+.1f} %".replace("-", "−")


def summary(scores: Mapping[float, Mapping[str, Scores]]) -> list[str]:
    """The verdict per load scale, in words (HTML fragments)."""
    lines = []
    for scale, rows in scores.items():
        names = [n for n in rows if n != "oracle"]
        head = HEADLINE if HEADLINE in rows else names[0]
        h = rows[head]
        refs = [r for r in REFERENCES if r in rows and r != head]
        text = (f"At load × {scale:g}, <b>{page.esc(head)}</b> ran <b>{h.replica_hours:,.0f} replica-hours</b> "
                f"with <b>{h.overload_minutes:,} overload minutes</b>")
        if refs:
            text += " — against " + "; ".join(
                f"{page.esc(r)}: {rows[r].replica_hours:,.0f} replica-hours "
                f"({page.esc(_change_text(h.replica_hours, rows[r].replica_hours))} for {page.esc(head)}) and "
                f"{rows[r].overload_minutes:,} overload minutes" for r in refs)
        if "oracle" in rows:
            text += (f". A policy that knew the next minute would need {rows['oracle'].replica_hours:,.0f} "
                     "replica-hours with none")
        lines.append(text + ".")
    lines.append("An overload minute is a minute whose CPU usage per ready pod was above the pod's request; "
                 "only minutes after the warm-up are scored.")
    return lines


def _table(rows: Mapping[str, Scores]) -> str:
    columns = [page.Column("replica-hours", "pod-hours", "lower", lambda v: f"{v:,.0f}"),
               page.Column("overload minutes", "usage > request", "lower", lambda v: f"{v:,.0f}"),
               page.Column("severe minutes", "usage > 1.5 × request", "lower", lambda v: f"{v:,.0f}"),
               page.Column("scaling events", "per day", "lower", lambda v: f"{v:.1f}"),
               page.Column("peak replicas", "pods", None, lambda v: f"{v:,.0f}"),
               page.Column("mean utilisation", "% of the request", "higher", lambda v: f"{v * 100:.1f} %")]
    data: list[tuple[str, list[float | None]]] = [
        (n, [s.replica_hours, float(s.overload_minutes), float(s.severe_minutes), s.scaling_events_per_day,
             float(s.peak_replicas), s.mean_utilization]) for n, s in rows.items()]
    reference = REFERENCES[0] if REFERENCES[0] in rows else None
    return page.comparison_table("policy", columns, data, reference=reference, highlight=HEADLINE)


def _tradeoff(scale: float, rows: Mapping[str, Scores]) -> str:
    reference = REFERENCES[0] if REFERENCES[0] in rows else next(iter(rows))
    ref_hours = rows[reference].replica_hours
    points = {n: ((ref_hours - s.replica_hours) / ref_hours if ref_hours > 0 else 0.0,
                  1 - s.overload_minutes / s.scored_minutes if s.scored_minutes else 0.0)
              for n, s in rows.items()}
    return plots.tradeoff(points, xlabel=f"replica-hours saved against {reference}",
                          ylabel="scored minutes without overload", title=f"Load × {scale:g}").svg


def _settings_table(changes: Mapping[str, Sequence[SettingsChange]], scored_from: int, days: float) -> str:
    headers = ("policy", "first settings", "last settings", "target utilisation chosen", "minReplicas chosen",
               "maxReplicas chosen", "changes per scored day")
    rows = []
    for name, cs in changes.items():
        if not cs:
            continue

        def text(c: SettingsChange) -> str:
            return f"target {c.target_utilization_percent} %, min {c.min_replicas}, max {c.max_replicas}"

        def span(values: list[int], unit: str = "") -> str:
            lo, hi = min(values), max(values)
            return f"{lo}{unit}" if lo == hi else f"{lo}{unit} – {hi}{unit}"

        rows.append([name, text(cs[0]), text(cs[-1]), span([c.target_utilization_percent for c in cs], " %"),
                     span([c.min_replicas for c in cs]), span([c.max_replicas for c in cs]),
                     f"{sum(c.timestamp >= scored_from for c in cs[1:]) / days:.1f}" if days > 0 else "—"])
    return page.text_table(headers, rows)


def render(trace: TrafficTrace, scores: Mapping[float, Mapping[str, Scores]], model: ServiceModel, *,
           weeks: Mapping[float, Sequence[plots.WeekSeries]], week_rule: str,
           changes: Mapping[float, Mapping[str, Sequence[SettingsChange]]], command: str) -> str:
    """The page as HTML text."""
    days = float(trace.timestamps[-1] - trace.timestamps[0]) / 86400
    produced = (f"{command} · {len(trace.timestamps):,} minutes ({days:.0f} days); each pod requests "
                f"{model.request_cores:g} core and uses {model.base_cores_per_pod:g} core at rest plus "
                f"{model.cpu_seconds_per_request * 1000:g} ms of CPU per request; a new pod serves after "
                f"{model.ready_delay_seconds} s; the first {model.warmup_seconds // 86400} days are a warm-up, "
                "not scored")
    sections = []
    for scale, rows in scores.items():
        body = _table(rows) + "<div class='figs'>" + page.figure(_tradeoff(scale, rows)) + "</div>"
        if weeks.get(scale):
            body += (f"<h3>Replicas, load and floor over one week</h3><p class='note'>{page.esc(week_rule)}</p>"
                     + page.figure(plots.hpa_week(weeks[scale])))
        if changes.get(scale):
            body += ("<h3>HPA settings each policy chose</h3>"
                     + _settings_table(changes[scale], int(trace.timestamps[0]) + model.warmup_seconds,
                                       days - model.warmup_seconds / 86400))
        sections.append((f"Load × {scale:g}", body))
    sections.append(("How to read this", "<p class='note'>Static policies keep one target and minReplicas; "
                     "tortoise and rikugame change them as they learn the workload. The oracle is not an HPA "
                     "policy: it knows the next minute's load, a lower bound. Better ↗ in the plots: right "
                     "saves replica-hours, up has fewer overload minutes.</p>"))
    return page.page(title=trace_title(trace.source), produced=produced, summary=summary(scores),
                     sections=sections)


def write_report(path: Path, trace: TrafficTrace, scores: Mapping[float, Mapping[str, Scores]],
                 model: ServiceModel, *, weeks: Mapping[float, Sequence[plots.WeekSeries]], week_rule: str,
                 changes: Mapping[float, Mapping[str, Sequence[SettingsChange]]], command: str) -> int:
    """Write the page to ``path`` (atomically); returns its size in bytes."""
    return page.write(path, render(trace, scores, model, weeks=weeks, week_rule=week_rule, changes=changes,
                                   command=command))
