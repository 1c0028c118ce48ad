"""The HPA policies ``rikugame backtest --traffic`` compares (a light module: the CLI lists their names
without importing the scenario's simulator and plots)."""

from __future__ import annotations

from typing import Any

from rikugame.core.horizontal import HorizontalPolicy

_WIDE = {"min_target_utilization_percent": 1, "max_target_utilization_percent": 100,
         "max_target_increase_percent": 100, "min_replicas_floor": 1, "min_replicas_cap": 1000,
         "max_replicas": 1000, "max_replicas_cap": 1000}

_RIKUGAME: dict[str, Any] = {
    "min_replicas": 2, "min_replicas_floor": 2, "min_replicas_cap": 1000, "max_replicas": 1000,
    "max_replicas_cap": 1000, "max_target_utilization_percent": 100, "min_target_utilization_percent": 50,
    "target_update_interval_seconds": 0, "max_target_increase_percent": 100}
"""The scenario's rikugame rows: wide replica ranges, targets 50–90 %, the target free to move each minute
(the write budget, not a daily interval, limits how often the HPA is rewritten)."""
POLICIES: dict[str, HorizontalPolicy] = {
    "static-50": HorizontalPolicy(recommender="static", target_utilization_percent=50, min_replicas=2,
                                  **_WIDE),
    "static-65": HorizontalPolicy(recommender="static", target_utilization_percent=65, min_replicas=3,
                                  **_WIDE),
    "static-80": HorizontalPolicy(recommender="static", target_utilization_percent=80, min_replicas=2,
                                  **_WIDE),
    "static-90": HorizontalPolicy(recommender="static", target_utilization_percent=90, min_replicas=2,
                                  **_WIDE),
    "tortoise": HorizontalPolicy(recommender="tortoise"),
    "rikugame": HorizontalPolicy(recommender="rikugame", overload_budget_ratio=0.01, **_RIKUGAME),
    "rikugame-strict": HorizontalPolicy(recommender="rikugame", overload_budget_ratio=0.0003, **_RIKUGAME),
}
"""The scenario's policies: name → the HorizontalPolicy that ``decide_horizontal`` runs with."""
