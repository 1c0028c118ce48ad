"""Matplotlib figures rendered to inline SVG strings (no files, no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def to_svg(fig: Figure) -> str:
    """Render and close ``fig``; return the SVG markup without the XML prolog."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def usage_vs_requests(times: np.ndarray, usage: np.ndarray, step_times: np.ndarray,
                      requests: dict[str, np.ndarray], *, title: str, unit: str) -> str:
    """Usage samples and each recommender's applied request (a step line) over time."""
    fig, ax = plt.subplots(figsize=(9, 2.6))
    days = (times - times.min()) / 86400.0
    ax.plot(days, usage, color="#999999", linewidth=0.6, label="usage")
    for name, values in requests.items():
        ax.step((step_times - times.min()) / 86400.0, values, where="post", linewidth=1.1, label=name)
    ax.set_xlabel("days")
    ax.set_ylabel(unit)
    ax.set_title(title, fontsize=10)
    ax.set_xlim(0, max(days.max(), 1e-9))
    ax.legend(fontsize=7, ncol=6, loc="upper left")
    ax.grid(alpha=0.3)
    return to_svg(fig)


def scatter(points: dict[str, tuple[float, float]], *, xlabel: str, ylabel: str, title: str,
            reference: Sequence[tuple[str, float, float]] = ()) -> str:
    """One labelled point per recommender (plus optional reference points, hollow)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for name, (x, y) in points.items():
        ax.scatter([x], [y], s=40)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    for name, x, y in reference:
        ax.scatter([x], [y], s=40, facecolors="none", edgecolors="#555555")
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, -10), fontsize=7, color="#555555")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return to_svg(fig)
