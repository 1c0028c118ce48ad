"""``rikugame recommend``: right-sizing report from Prometheus history (not built yet; see issue 6)."""

from __future__ import annotations

import typer


def recommend() -> None:
    """Right-sizing report from Prometheus history (not available yet)."""
    typer.echo("rikugame recommend is not available yet", err=True)
    raise typer.Exit(2)
