"""How each recommender is run in a backtest when the user gives no policy.

The guardrails are the core's presets (``rikugame.core.presets``): what a Tuner with that recommender
runs by default, so the backtest scores what users get. Peer emulations (``vpa``, ``krr-simple``,
``window``) apply their estimate as the peer does; ``tortoise`` adds Tortoise's own rules (VPA target ×
1.1, scale down once an hour by ≤ 20 %, bounds 50m–10 cores / 50Mi–10Gi); ``rikugame`` decreases at most
every 6 h by at most 30 %. The backtest runs every Tuner in ``Auto``. Traces are whole VMs, bigger than
typical containers, so the default bounds are widened to 1m–1000 cores / 1Mi–1Ti for everything but
``tortoise``.
"""

from __future__ import annotations

from typing import Any

from rikugame.core.policy import TunerSpec

WIDE_BOUNDS: dict[str, str] = {"minCpu": "1m", "maxCpu": "1000", "minMemory": "1Mi", "maxMemory": "1Ti"}
NATIVE: dict[str, dict[str, Any]] = {"tortoise": {}}
"""Spec overrides per recommender (the guardrails themselves are the core's presets)."""


def backtest_spec(recommender: str, policy: dict[str, Any] | None = None) -> TunerSpec:
    """The Tuner spec a backtest of ``recommender`` runs with (``policy`` overrides everything)."""
    base: dict[str, Any] = {"targetRef": {"name": "backtest"}, "recommender": recommender, "mode": "Auto"}
    if policy is not None:
        merged = {**policy, **base, "recommender": recommender}
        merged.setdefault("targetRef", base["targetRef"])
        return TunerSpec.model_validate(merged)
    return TunerSpec.model_validate({**base, **NATIVE.get(recommender, {"bounds": WIDE_BOUNDS})})
