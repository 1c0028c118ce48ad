"""What a Tuner runs with by default, per recommender: the guardrails its backtest was scored with (pure).

``rikugame`` was scored (README, "Results on the shared traces") with decreases at most every 6 h and by at
most 30 % per step: with Tortoise's 1 h / 20 % the staircase alone pushed p99 churn on Bitbrains to 12
changes per day, with 6 h / 30 % it is 6. Its memory request decreases at most once a day, straight to
the estimate: the time-of-day memory rule rises and falls with the daily pattern, and with CPU's 6 h /
30 % memory alone reached p99 7 changes per day; once a day to the estimate keeps it at 4 (README).
``tortoise`` keeps Tortoise's own 1 h / 20 %
(mercari/tortoise pkg/config/config.go). The peer emulations (``vpa``, ``krr-simple``, ``window``) apply
their estimate as the peer does, with no extra rate limit.
"""

from __future__ import annotations

from typing import Any

TORTOISE_GUARDRAILS: dict[str, Any] = {"scale_down_interval_seconds": 3600, "scale_down_max_ratio": 0.2}
PASS_THROUGH: dict[str, Any] = {"scale_down_interval_seconds": 0, "scale_down_max_ratio": 1.0}
RIKUGAME_GUARDRAILS: dict[str, Any] = {"scale_down_interval_seconds": 6 * 3600, "scale_down_max_ratio": 0.3,
                                       "memory_scale_down_interval_seconds": 86400,
                                       "memory_scale_down_max_ratio": 1.0}

VERTICAL_GUARDRAILS: dict[str, dict[str, Any]] = {
    "rikugame": RIKUGAME_GUARDRAILS,
    "tortoise": TORTOISE_GUARDRAILS,
    "vpa": PASS_THROUGH,
    "krr-simple": PASS_THROUGH,
    "window": PASS_THROUGH,
}
"""Guardrail values (snake_case field names of ``VerticalGuardrails``) a recommender runs with by default."""


def vertical_guardrails(recommender: str) -> dict[str, Any]:
    """The default guardrail values for ``recommender`` (Tortoise's for a recommender without a preset)."""
    return dict(VERTICAL_GUARDRAILS.get(recommender, TORTOISE_GUARDRAILS))
