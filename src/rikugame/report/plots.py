"""Matplotlib figures rendered to inline SVG strings (no files, no display), in the look of ``report.page``.

* Text stays text in the SVG (``svg.fonttype = none``): smaller files, and a browser can find the words.
* Trade-off plots put both axes in percent and orient them so the better corner is the upper right
  ("better ↗"); point labels are placed by :func:`place_labels`, which measures every label's extent and
  never lets two overlap (nor a label cover a point).
* Time series over many days are drawn as a min/max **envelope per pixel bucket** (:func:`envelope`), so 90
  days stay readable; a bucket without samples is NaN, so gaps stay gaps (no diagonals).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.ticker import PercentFormatter

from rikugame.core.histograms import FloatArray, IntArray

matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 10,
                            "axes.spines.top": False, "axes.spines.right": False,
                            "svg.hashsalt": "rikugame"})
PALETTE = ("#2457c5", "#d9730d", "#17803d", "#8e44ad", "#b42318", "#0f8b8d", "#7f6000", "#555555")
HIGHLIGHT = "rikugame"
PIXEL_BUCKETS = 600
"""Envelope buckets across a time-series plot (about one per pixel of its width)."""


def colour(index: int) -> str:
    """The page's colour for the ``index``-th series."""
    return PALETTE[index % len(PALETTE)]


def to_svg(fig: Figure) -> str:
    """Render and close ``fig``; return the SVG markup without the XML prolog and metadata."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


# --- labels that never overlap ----------------------------------------------------------------------------

def _offsets() -> list[tuple[float, float, str]]:
    """Candidate label offsets (points): rings of growing radius, 16 directions each, nearest first."""
    out: list[tuple[float, float, str]] = []
    for radius in (7.0, 15.0, 25.0, 37.0, 51.0, 67.0, 85.0):
        for k in range(16):
            angle = np.pi / 4 + k * np.pi / 8  # start upper right
            dx, dy = radius * np.cos(angle), radius * np.sin(angle)
            ha = "left" if dx > 1 else ("right" if dx < -1 else "center")
            out.append((round(float(dx), 1), round(float(dy) - (4.0 if dy < 0 else 0.0), 1), ha))
    return out


_OFFSETS = _offsets()


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(ax: Axes, points: Sequence[tuple[float, float, str]], *, fontsize: float = 8,
                 colours: Sequence[str] | None = None, avoid: Sequence[Text] = ()) -> list[Annotation]:
    """Label every point, trying offsets in a fixed order and keeping the first whose measured extent
    overlaps no label placed so far, no point marker, no text in ``avoid`` and stays inside the axes (else
    the one with the least overlap)."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    markers = [ax.transData.transform((x, y)) for x, y, _ in points]
    marker_boxes = [(px - 4.0, py - 4.0, px + 4.0, py + 4.0) for px, py in markers]
    for other in avoid:
        e = other.get_window_extent(renderer)
        marker_boxes.append((e.x0 - 1, e.y0 - 1, e.x1 + 1, e.y1 + 1))
    frame = ax.get_window_extent(renderer)
    placed: list[tuple[float, float, float, float]] = []
    texts: list[Annotation] = []
    for i, (x, y, label) in enumerate(points):
        best: tuple[float, Annotation] | None = None
        for dx, dy, ha in _OFFSETS:
            far = dx * dx + dy * dy > 20 * 20
            text = ax.annotate(label, (x, y), textcoords="offset points", xytext=(dx, dy), ha=ha,
                               fontsize=fontsize, color=colours[i] if colours else "#1d2330",
                               arrowprops={"arrowstyle": "-", "color": "#9aa3b2", "linewidth": 0.6,
                                           "shrinkA": 0, "shrinkB": 3} if far else None)
            text.update_positions(renderer)
            e = Text.get_window_extent(text, renderer)  # the words only, not the leader line
            box = (e.x0 - 1, e.y0 - 1, e.x1 + 1, e.y1 + 1)
            cost = sum(_overlap(box, p) for p in placed) + sum(_overlap(box, m) for m in marker_boxes)
            outside = (max(0.0, frame.x0 - box[0]) + max(0.0, box[2] - frame.x1)
                       + max(0.0, frame.y0 - box[1]) + max(0.0, box[3] - frame.y1))
            cost += outside * 10
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, text)
            else:
                text.remove()
            if cost == 0:
                break
        assert best is not None
        e = Text.get_window_extent(best[1], renderer)
        placed.append((e.x0 - 1, e.y0 - 1, e.x1 + 1, e.y1 + 1))
        texts.append(best[1])
    return texts


def overlapping_labels(fig: Figure, texts: Sequence[Annotation]) -> list[tuple[str, str]]:
    """Pairs of labels whose drawn extents overlap (empty when the placement worked)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for t in texts:
        t.update_positions(renderer)
    boxes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts]
    return [(a, b) for i, (a, ea) in enumerate(boxes) for b, eb in boxes[i + 1:]
            if _overlap((ea.x0, ea.y0, ea.x1, ea.y1), (eb.x0, eb.y0, eb.x1, eb.y1)) > 0]


@dataclass(frozen=True)
class TradeOff:
    """A scatter whose better corner is the upper right; x and y are fractions shown in percent."""

    svg: str
    overlaps: list[tuple[str, str]]


def tradeoff(points: Mapping[str, tuple[float, float]], *, xlabel: str, ylabel: str, title: str,
             highlight: str = HIGHLIGHT) -> TradeOff:
    """One labelled point per name (fractions, shown as percent); "better ↗" is written in the corner."""
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    names = list(points)
    xs = np.array([points[n][0] for n in names], dtype=float)
    ys = np.array([points[n][1] for n in names], dtype=float)
    colours = [colour(i) for i in range(len(names))]
    for i, n in enumerate(names):
        ax.scatter([xs[i]], [ys[i]], s=70 if n == highlight else 36, marker="*" if n == highlight else "o",
                   color=colours[i], zorder=3)
    pad_x = max(float(np.ptp(xs)) * 0.25, 0.01) if len(xs) else 0.01
    pad_y = max(float(np.ptp(ys)) * 0.25, 0.01) if len(ys) else 0.01
    if len(xs):
        ax.set_xlim(float(xs.min()) - pad_x, float(xs.max()) + pad_x)
        ax.set_ylim(float(ys.min()) - pad_y, float(ys.max()) + pad_y)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    better = ax.text(0.985, 0.975, "better ↗", transform=ax.transAxes, ha="right", va="top", fontsize=9,
                     color="#17803d", fontweight="bold")
    texts = place_labels(ax, [(float(xs[i]), float(ys[i]), n) for i, n in enumerate(names)], colours=colours,
                         avoid=[better])
    overlaps = overlapping_labels(fig, texts)
    return TradeOff(to_svg(fig), overlaps)


# --- time series -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    """Per bucket: its centre and the min/max of the samples in it (NaN where it has none)."""

    centres: FloatArray
    low: FloatArray
    high: FloatArray
    mean: FloatArray


def envelope(times: IntArray | FloatArray, values: FloatArray, start: float, stop: float,
             buckets: int = PIXEL_BUCKETS, min_width: float = 0.0) -> Envelope:
    """Min/max of ``values`` per equal-width bucket of [start, stop]; empty buckets are NaN (gaps).

    ``min_width`` keeps buckets at least that wide (1.5 × the sample interval: no false gaps when the
    series has fewer samples than buckets)."""
    span = max(float(stop - start), 1e-9)
    width = max(span / buckets, min_width)
    n = max(1, int(np.ceil(span / width)))
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v) & (t >= start) & (t <= stop)
    idx = np.minimum(((t[ok] - start) / width).astype(np.int64), n - 1)
    low = np.full(n, np.inf)
    high = np.full(n, -np.inf)
    np.minimum.at(low, idx, v[ok])
    np.maximum.at(high, idx, v[ok])
    count = np.bincount(idx, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: FloatArray = (np.bincount(idx, weights=v[ok], minlength=n) / count).astype(np.float64)
    empty = ~np.isfinite(low)
    low[empty] = np.nan
    high[empty] = np.nan
    mean[empty] = np.nan
    centres: FloatArray = (start + (np.arange(n) + 0.5) * width).astype(np.float64)
    return Envelope(centres, low, high, mean)


def sample_interval(times: IntArray) -> float:
    """The typical (median) spacing of sorted sample times, in the times' unit."""
    if len(times) < 2:
        return 0.0
    return float(np.median(np.diff(times)))


@dataclass(frozen=True)
class RequestSeries:
    """One recommender's applied request: a step function (value from each start until the next)."""

    name: str
    starts: IntArray
    values: FloatArray


def _step_envelope(series: RequestSeries, start: float, stop: float, width: float) -> tuple[FloatArray, FloatArray]:
    """The highest request in force per bucket, as step points (one per bucket edge)."""
    n = max(1, int(np.ceil((stop - start) / width)))
    edges = start + np.arange(n + 1) * width
    # value in force at each bucket start, and the max of changes inside each bucket
    pos = np.searchsorted(series.starts, edges[:-1], side="right") - 1
    in_force: FloatArray = np.where(pos >= 0, series.values[np.maximum(pos, 0)], np.nan).astype(np.float64)
    high = in_force.copy()
    inside = (series.starts > edges[0]) & (series.starts < edges[-1])
    idx = np.minimum(((series.starts[inside] - start) / width).astype(np.int64), n - 1)
    np.fmax.at(high, idx, series.values[inside])
    starts: FloatArray = edges[:-1].astype(np.float64)
    return starts, high


def usage_timeline(times: IntArray, usage: FloatArray, requests: Sequence[RequestSeries], *, title: str,
                   unit: str, warmup_seconds: int, exposures: IntArray | None = None,
                   highlight: str = HIGHLIGHT) -> str:
    """Usage as a min/max envelope per pixel bucket (gaps left empty), each recommender's applied request
    (the highest in force per bucket), the warm-up shaded and OOM exposures (``exposures``: sample times
    whose memory usage exceeded the ``highlight`` recommender's limit) marked."""
    fig, ax = plt.subplots(figsize=(9.5, 2.7))
    t0 = float(times.min())
    stop = float(times.max())
    day = 86400.0
    env = envelope(times, usage, t0, stop, min_width=1.5 * sample_interval(times))
    width = float(env.centres[1] - env.centres[0]) if len(env.centres) > 1 else max(stop - t0, 1.0)
    x = (env.centres - t0) / day
    ax.fill_between(x, env.low, env.high, color="#b8bfcc", alpha=0.6, linewidth=0, label="usage (min–max)",
                    step="mid")
    ax.plot(x, env.mean, color="#5b6475", linewidth=0.6, label="usage (mean)")
    if warmup_seconds > 0:
        ax.axvspan(0, min(warmup_seconds, stop - t0) / day, color="#f1e3b5", alpha=0.6, linewidth=0,
                   label="warm-up (not scored)", zorder=0)
    for i, series in enumerate(requests):
        edges, high = _step_envelope(series, t0, stop, width)
        ax.step((edges - t0) / day, high, where="post", color=colour(i),
                linewidth=1.6 if series.name == highlight else 0.9, label=f"{series.name} request")
    if exposures is not None and len(exposures):
        marks = envelope(exposures, np.ones(len(exposures)), t0, stop, min_width=width)
        hit = np.isfinite(marks.high)
        top = np.interp(marks.centres[hit], env.centres[np.isfinite(env.high)],
                        env.high[np.isfinite(env.high)]) if np.isfinite(env.high).any() else np.zeros(hit.sum())
        ax.scatter((marks.centres[hit] - t0) / day, top, marker="v", s=18, color="#b42318", zorder=4,
                   label=f"OOM exposure ({highlight})")
    ax.set_xlim(0, max((stop - t0) / day, 1e-9))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("days since the workload's first sample")
    ax.set_ylabel(unit)
    ax.set_title(title, loc="left")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7.5, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.28), frameon=False)
    return to_svg(fig)


@dataclass(frozen=True)
class WeekSeries:
    """One policy over the chosen week, per minute: replicas, load (in pods) and the minReplicas floor."""

    name: str
    timestamps: IntArray
    replicas: FloatArray
    load_pods: FloatArray
    floor: FloatArray


def hpa_week(series: Sequence[WeekSeries]) -> str:
    """Small multiples, one per policy: load (pods' worth of CPU at the request; envelope per pixel bucket),
    replicas (highest per bucket) and the minReplicas floor, on shared axes."""
    n = len(series)
    fig, axes = plt.subplots(n, 1, figsize=(9.5, 1.35 * n + 0.9), sharex=True, sharey=True, squeeze=False,
                             gridspec_kw={"hspace": 0.45})
    t0 = float(min(s.timestamps.min() for s in series))
    stop = float(max(s.timestamps.max() for s in series))
    day = 86400.0
    for i, (ax, s) in enumerate(zip(axes[:, 0], series, strict=True)):
        load = envelope(s.timestamps, s.load_pods, t0, stop, min_width=90)
        reps = envelope(s.timestamps, s.replicas, t0, stop, min_width=90)
        floor = envelope(s.timestamps, s.floor, t0, stop, min_width=90)
        x = (load.centres - t0) / day
        ax.fill_between(x, load.low, load.high, color="#9aa3b2", alpha=0.6, linewidth=0, step="mid",
                        label="load (pods at 100 % of the request)")
        ax.step(x, reps.high, where="mid", color=colour(i), linewidth=1.0, label="replicas")
        ax.step(x, floor.high, where="mid", color="#1d2330", linewidth=0.9, linestyle="--",
                label="minReplicas (floor)")
        ax.set_title(s.name, loc="left", fontsize=9, pad=2)
        ax.grid(alpha=0.25)
        ax.set_ylim(bottom=0)
        if i == 0:
            ax.legend(fontsize=7.5, ncol=3, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes[-1, 0].set_xlabel("days into the chosen week")
    fig.supylabel("pods", fontsize=9)
    return to_svg(fig)


def saving_bars(items: Sequence[tuple[str, float]], *, unit: str = "$ per month") -> str:
    """Horizontal bars, one per item (largest |value| first, as given): green saves, red costs more."""
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(items) + 1.0))
    labels = [name for name, _ in items][::-1]
    values = np.array([v for _, v in items][::-1], dtype=float)
    ax.barh(np.arange(len(values)), values, color=["#17803d" if v >= 0 else "#b42318" for v in values])
    ax.set_yticks(np.arange(len(values)), labels, fontsize=8)
    ax.axvline(0, color="#1d2330", linewidth=0.8)
    ax.set_xlabel(f"saving, {unit} (negative: the recommendation costs more)")
    ax.grid(axis="x", alpha=0.3)
    return to_svg(fig)
