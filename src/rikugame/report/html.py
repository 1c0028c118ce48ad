"""The backtest HTML page (``rikugame backtest -f html`` / ``demo``), in the one look of ``report.page``.

It opens with the verdict — what the headline recommender (``rikugame``) would have saved against VPA, its
OOM-exposed entity-days against VPA's, and the riskiest workloads — then the scores table with units and
better/worse arrows against VPA, the trade-off plots (percent axes, better ↗), and per-workload charts for
workloads chosen by stated rules (largest saving, riskiest, biggest usage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rikugame.core.histograms import FloatArray, IntArray
from rikugame.report import page, plots

if TYPE_CHECKING:  # report renders plain data; the simulator's types are for the type checker only
    from rikugame.sim import replaying, scoring
    from rikugame.sim.risk_curve import RiskPoint
    from rikugame.usage_trace import Trace

GIB = 2**30
MIB = 2**20
DAY = 86400
CPU_PRICE = 0.0316
"""USD per core-hour, as ``recommend``'s default (an m5.large split into vCPU and GiB)."""
MEMORY_PRICE = 0.0042
HEADLINE = "rikugame"
BASELINE = "vpa"
RISKIEST = 5


class _Outcome(Protocol):
    @property
    def replay(self) -> replaying.Replay: ...
    @property
    def scores(self) -> scoring.Scores: ...
    @property
    def seconds(self) -> float: ...


@dataclass(frozen=True)
class Fleet:
    """Per entity, for one recommender: mean requested cores / GiB over its scored samples, OOM-exposed days
    and the share of CPU usage above the request."""

    cores: FloatArray
    gib: FloatArray
    exposed_days: IntArray
    cpu_deficit: FloatArray

    @property
    def total_cores(self) -> float:
        return float(np.nansum(self.cores))

    @property
    def total_gib(self) -> float:
        return float(np.nansum(self.gib))


def scored_mask(trace: Trace, warmup_seconds: int) -> np.ndarray:
    """Samples after each entity's warm-up."""
    first = np.full(len(trace.entities), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, trace.rows, trace.timestamps)
    mask: np.ndarray = trace.timestamps >= first[trace.rows] + warmup_seconds
    return mask


def exposed(trace: Trace, replay: replaying.Replay) -> np.ndarray:
    """Samples whose memory usage exceeded the applied limit (an OOM exposure)."""
    _, _, applied = replay.sample_requests(trace.rows)
    if applied is None:
        return np.zeros(trace.num_samples, dtype=bool)
    limit = applied.astype(np.float64)
    mem = trace.memory_bytes
    with np.errstate(invalid="ignore"):
        out: np.ndarray = np.isfinite(mem) & (limit >= 0) & (mem > limit)
    return out


def fleet(trace: Trace, replay: replaying.Replay, scored: np.ndarray) -> Fleet:
    """Per-entity figures of one recommender over the scored samples."""
    n = len(trace.entities)
    rows = trace.rows[scored]
    cpu_at, mem_at, _ = replay.sample_requests(trace.rows)
    cpu_req = cpu_at[scored] / 1000.0
    use = trace.cpu_cores[scored]
    has_cpu = np.isfinite(use)  # memory-only samples (exported report traces) have no CPU
    count = np.bincount(rows[has_cpu], minlength=n).astype(np.float64)
    use = np.where(has_cpu, use, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cores = np.bincount(rows[has_cpu], weights=cpu_req[has_cpu], minlength=n) / count
        deficit = (np.bincount(rows, weights=np.maximum(use - cpu_req, 0), minlength=n)
                   / np.bincount(rows, weights=use, minlength=n))
        has_mem = np.isfinite(trace.memory_bytes[scored])
        mem_req = mem_at[scored] / GIB
        gib = (np.bincount(rows[has_mem], weights=mem_req[has_mem], minlength=n)
               / np.bincount(rows[has_mem], minlength=n))
    hit = exposed(trace, replay)[scored]
    days = rows[hit] * 1_000_000 + trace.timestamps[scored][hit] // DAY
    unique_days = np.unique(days)
    exposed_days = np.bincount(unique_days // 1_000_000, minlength=n).astype(np.int64)
    return Fleet(cores, gib, exposed_days, deficit)


def _names(names: list[str]) -> tuple[str, str | None]:
    headline = HEADLINE if HEADLINE in names else names[0]
    baseline = BASELINE if BASELINE in names and headline != BASELINE else None
    return headline, baseline


def _amount(value: float) -> str:
    """``21.8`` / ``0.42``: enough digits to see a small fleet's difference."""
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def _pct_change(new: float, old: float) -> str:
    return f"{(new - old) / old * 100:+.1f} %".replace("-", "−") if old > 0 else "—"


def summary(trace: Trace, outcomes: Mapping[str, _Outcome], fleets: Mapping[str, Fleet]) -> list[str]:
    """The verdict in words (HTML fragments)."""
    names = list(outcomes)
    headline, baseline = _names(names)
    h, hs = fleets[headline], outcomes[headline].scores
    lines = []

    def exposed_days(name: str) -> int:
        return int(fleets[name].exposed_days.sum())

    days_text = f"{hs.entity_days:,} scored entity-days"
    has_mem = hs.oom_free_entity_days_ratio is not None
    if baseline is not None:
        b = fleets[baseline]
        d_cores = b.total_cores - h.total_cores
        d_gib = b.total_gib - h.total_gib
        verb = "saved" if d_cores >= 0 else "added"
        mem_part = ""
        if has_mem:
            mem_verb = "saved" if d_gib >= 0 else "added"
            mem_part = (f" and {mem_verb} <b>{_amount(abs(d_gib))} GiB</b> of memory "
                        f"({page.esc(_pct_change(h.total_gib, b.total_gib))})")
        lines.append(
            f"<b>{page.esc(headline)}</b> would have {verb} <b>{_amount(abs(d_cores))} cores</b> "
            f"({page.esc(_pct_change(h.total_cores, b.total_cores))} of the CPU requested){mem_part} "
            f"against {page.esc(baseline.upper() if baseline == 'vpa' else baseline)}, summed over the "
            f"{len(trace.entities):,} workloads' average requests"
            + (f", with <b>{exposed_days(headline):,}</b> OOM-exposed entity-days vs "
               f"<b>{exposed_days(baseline):,}</b> for {page.esc(baseline.upper() if baseline == 'vpa' else baseline)}"
               f" (of {days_text})." if has_mem else "."))
    else:
        lines.append(f"<b>{page.esc(headline)}</b> requested <b>{_amount(h.total_cores)} cores</b>"
                     + (f" and <b>{_amount(h.total_gib)} GiB</b>" if has_mem else "")
                     + f" on average over {len(trace.entities):,} workloads"
                     + (f", with <b>{exposed_days(headline):,}</b> OOM-exposed entity-days of {days_text}."
                        if has_mem else "."))
    risky = riskiest(h, RISKIEST)
    if risky:
        def exposure(i: int) -> str:
            n = int(h.exposed_days[i])
            return f"{n} exposed day{'s' if n != 1 else ''}, " if has_mem else ""

        items = ", ".join(f"{page.esc(trace.entities[i])} ({exposure(i)}{h.cpu_deficit[i] * 100:.1f} % of CPU "
                          "above the request)" for i in risky)
        rule = "most OOM-exposed days, then most CPU usage above the request" if has_mem else (
            "most CPU usage above the request; the trace has no memory")
        lines.append(f"The {len(risky)} riskiest workloads under {page.esc(headline)} ({rule}): {items}.")
    best_cpu = min(names, key=lambda n: outcomes[n].scores.cpu_alloc_ratio)
    lines.append(f"Least CPU allocated per unit of usage: <b>{page.esc(best_cpu)}</b> "
                 f"({outcomes[best_cpu].scores.cpu_alloc_ratio:.2f}×)."
                 + (" OOM exposures are memory usage above the limit the recommender set (limit = request); an "
                    "exposure means a kill was likely." if has_mem else ""))
    return lines


def riskiest(f: Fleet, count: int) -> list[int]:
    """Entities with the most OOM-exposed days, then the most CPU above the request (ties by row)."""
    deficit = np.nan_to_num(f.cpu_deficit, nan=0.0)
    order = np.lexsort((np.arange(len(deficit)), -deficit, -f.exposed_days))
    return [int(i) for i in order[:count] if f.exposed_days[i] > 0 or deficit[i] > 0]


def chosen_workloads(trace: Trace, fleets: Mapping[str, Fleet], names: list[str]) -> list[tuple[int, str]]:
    """The plotted workloads and the rule that picked each (distinct workloads, one per rule)."""
    headline, baseline = _names(names)
    rules: list[tuple[str, FloatArray]] = []
    if baseline is not None:
        b, h = fleets[baseline], fleets[headline]
        saving = (np.nan_to_num(b.cores - h.cores) * CPU_PRICE + np.nan_to_num(b.gib - h.gib) * MEMORY_PRICE)
        rules.append((f"largest saving of {headline} against {baseline} (at ${CPU_PRICE}/core-hour and "
                      f"${MEMORY_PRICE}/GiB-hour)", np.asarray(saving, dtype=np.float64)))
    h = fleets[headline]
    rules.append((f"riskiest under {headline} (most OOM-exposed days, then CPU above the request)",
                  np.asarray(h.exposed_days * 1e6 + np.nan_to_num(h.cpu_deficit), dtype=np.float64)))
    usage = np.bincount(trace.rows, weights=np.nan_to_num(trace.cpu_cores), minlength=len(trace.entities))
    rules.append(("biggest CPU usage", np.asarray(usage, dtype=np.float64)))
    chosen: list[tuple[int, str]] = []
    for rule, score in rules:
        for i in np.argsort(-score, kind="stable"):
            if int(i) not in {c for c, _ in chosen} and np.any(trace.rows == i):
                chosen.append((int(i), rule))
                break
    return chosen


def _table(outcomes: Mapping[str, _Outcome], fleets: Mapping[str, Fleet]) -> str:
    names = list(outcomes)
    headline, baseline = _names(names)

    def pct(v: float) -> str:
        return f"{v * 100:.2f} %"

    def x(v: float) -> str:
        return f"{v:.2f}×"

    columns = [page.Column("CPU requested", "cores, average", "lower", lambda v: f"{v:,.1f}"),
               page.Column("CPU allocated per usage", "× usage", "lower", x),
               page.Column("CPU usage above the request", "% of usage", "lower", pct),
               page.Column("CPU samples above the request", "% of samples", "lower", pct),
               page.Column("CPU requested but unused", "% of request", "lower", pct),
               page.Column("memory requested", "GiB, average", "lower", lambda v: f"{v:,.1f}"),
               page.Column("memory allocated per usage", "× usage", "lower", x),
               page.Column("memory requested but unused", "% of request", "lower", pct),
               page.Column("OOM-exposed entity-days", "count", "lower", lambda v: f"{v:,.0f}"),
               page.Column("OOM-free entity-days", "% of days", "higher", pct),
               page.Column("OOM kills", "per 1,000 entity-days", "lower", lambda v: f"{v:,.1f}"),
               page.Column("request changes", "per entity-day, mean", "lower", lambda v: f"{v:.2f}"),
               page.Column("request changes", "per entity-day, 99th percentile", "lower", lambda v: f"{v:.0f}")]
    rows: list[tuple[str, list[float | None]]] = []
    for n, o in outcomes.items():
        s, f = o.scores, fleets[n]
        has_mem = s.memory_alloc_ratio is not None
        rows.append((n, [f.total_cores, s.cpu_alloc_ratio, s.cpu_deficit_ratio, s.cpu_over_request_ratio,
                         s.cpu_relative_slack, f.total_gib if has_mem else None, s.memory_alloc_ratio,
                         s.memory_relative_slack, float(f.exposed_days.sum()) if has_mem else None,
                         s.oom_free_entity_days_ratio, s.oom_kills_per_1000_entity_days,
                         s.changes_per_entity_day_mean,
                         s.changes_per_entity_day_p99]))
    table = page.comparison_table("recommender", columns, rows, reference=baseline, highlight=headline)
    note = ("<p class='note'>Over the scored samples (after each workload's warm-up). Requested cores and GiB: "
            "each workload's average request, summed. Allocated per usage = Σrequest / Σusage; usage above the "
            "request = Σmax(usage − request, 0) / Σusage; requested but unused = Σ(request − usage) / Σrequest; "
            "an entity-day (UTC) is OOM-exposed when memory usage went above the limit (= request) at least once "
            "that day; OOM kills = samples above the limit in force at their time (each a kill, the container "
            "restarts), per 1,000 scored entity-days; a change is a request moving by more than 10 % between "
            "periods."
            + (f" Arrows compare each row with {page.esc(baseline)}." if baseline else "") + "</p>")
    return table + note


def write_backtest_report(path: Path, trace: Trace, outcomes: Mapping[str, _Outcome], *, warmup_seconds: int,
                          settings: Mapping[str, str], risk_curve: Sequence[RiskPoint] | None = None) -> int:
    """Write the page to ``path`` (atomically); returns its size in bytes."""
    return page.write(path, render_backtest(trace, outcomes, warmup_seconds=warmup_seconds, settings=settings,
                                            risk_curve=risk_curve))


def _risk_section(curve: Sequence[RiskPoint]) -> str:
    """The memory risk knob: a table and a trade-off plot of its settings."""
    rows = [[f"{p.cap_bytes / MIB:,.0f} MiB", f"{p.memory_alloc_ratio:.2f}×", f"{p.oom_free_entity_days_ratio:.2%}",
             f"{p.oom_kills_per_1000_entity_days:,.1f}"] for p in curve]
    table = page.text_table(["memoryHeadroomCapBytes", "memory allocated per usage", "OOM-free entity-days",
                             "OOM kills per 1,000 entity-days"], rows)
    points = {f"{p.cap_bytes / MIB:,.0f}Mi": (1 / p.memory_alloc_ratio, p.oom_free_entity_days_ratio)
              for p in curve}
    fig = page.figure(plots.tradeoff(points, xlabel="memory used of the request (Σusage / Σrequest)",
                                     ylabel="OOM-free entity-days",
                                     title="rikugame memory: one point per headroom cap").svg)
    return (table + "<div class='figs'>" + fig + "</div><p class='note'>rikugame's one memory risk knob, "
            "recommenderSettings.memoryHeadroomCapBytes (default 1 GiB): the bytes of headroom above the "
            "time-of-day peak, at most the peak itself. Each setting is a full replay of the trace with "
            "everything else unchanged.</p>")


def render_backtest(trace: Trace, outcomes: Mapping[str, _Outcome], *, warmup_seconds: int,
                    settings: Mapping[str, str], risk_curve: Sequence[RiskPoint] | None = None) -> str:
    """The backtest page as HTML text."""
    names = list(outcomes)
    headline, _ = _names(names)
    scored = scored_mask(trace, warmup_seconds)
    fleets = {n: fleet(trace, o.replay, scored) for n, o in outcomes.items()}
    produced = (f"rikugame backtest · {len(trace.entities):,} workloads, {trace.num_samples:,} samples · "
                + " · ".join(f"{k} {v}" for k, v in settings.items()))
    sections = [("Scores", _table(outcomes, fleets))]

    mem_points = {n: (1 - (o.scores.memory_relative_slack or 0.0), o.scores.oom_free_entity_days_ratio or 0.0)
                  for n, o in outcomes.items() if o.scores.memory_alloc_ratio is not None}
    cpu_points = {n: (1 - o.scores.cpu_relative_slack, 1 - o.scores.cpu_over_request_ratio)
                  for n, o in outcomes.items()}
    figs = []
    if mem_points:
        figs.append(page.figure(plots.tradeoff(
            mem_points, xlabel="memory used of the request (Σusage / Σrequest)", ylabel="OOM-free entity-days",
            title="Memory: used share of the request vs safety").svg))
    figs.append(page.figure(plots.tradeoff(
        cpu_points, xlabel="CPU used of the request (Σusage / Σrequest)", ylabel="CPU samples within the request",
        title="CPU: used share of the request vs contention").svg))
    sections.append(("Cost against safety", "<div class='figs'>" + "".join(figs) + "</div>"
                     "<p class='note'>Up is safer, right wastes less: the better corner is the upper right.</p>"))
    if risk_curve:
        sections.append(("Memory risk knob", _risk_section(risk_curve)))

    parts = []
    first = next(iter(outcomes.values())).replay
    for row, rule in chosen_workloads(trace, fleets, names):
        sel = trace.rows == row
        times = trace.timestamps[sel]
        k0, k1 = int(first.sample_period[sel].min()), int(first.sample_period[sel].max())
        starts = first.period_starts[k0:k1 + 1]
        name = trace.entities[row]
        parts.append(f"<h3>{page.esc(name)}</h3><p class='note'>Chosen as the {page.esc(rule)}.</p>")
        cpu = [plots.RequestSeries(n, starts, o.replay.cpu_request_millicores[k0:k1 + 1, row] / 1000.0)
               for n, o in outcomes.items()]
        parts.append(page.figure(plots.usage_timeline(
            times, trace.cpu_cores[sel], cpu, title=f"{name}: CPU", unit="cores", warmup_seconds=warmup_seconds,
            highlight=headline)))
        if np.isfinite(trace.memory_bytes[sel]).any():
            mem = [plots.RequestSeries(n, starts, o.replay.memory_request_bytes[k0:k1 + 1, row] / GIB)
                   for n, o in outcomes.items()]
            hits = trace.timestamps[sel & exposed(trace, outcomes[headline].replay)]
            parts.append(page.figure(plots.usage_timeline(
                times, trace.memory_bytes[sel] / GIB, mem, title=f"{name}: memory", unit="GiB",
                warmup_seconds=warmup_seconds, exposures=hits, highlight=headline)))
    sections.append(("Workloads", "<p class='note'>One workload per rule. Grey band: usage, min to max within "
                     "each pixel-wide time bucket (a gap is a time without samples); lines: the highest request "
                     "of each recommender in force in the bucket; shaded: the warm-up, not scored; red marks: "
                     f"OOM exposures under {page.esc(headline)}.</p>" + "".join(parts)))
    return page.page(title=page.trace_name(trace.source), produced=produced,
                     summary=summary(trace, outcomes, fleets), sections=sections)
