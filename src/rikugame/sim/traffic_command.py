"""``rikugame backtest --traffic``: the horizontal (HPA) scenario (not built yet; see issue 5)."""

from __future__ import annotations

from pathlib import Path

from rikugame.errors import InputError


def run(*, traffic: Path, load_scales: list[float], fmt: str, report: Path | None,
        export_hpa: Path | None, recommenders: list[str]) -> None:
    """Run the traffic scenario (not available yet)."""
    raise InputError("--traffic is not available yet")
