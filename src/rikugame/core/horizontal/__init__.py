"""The horizontal side of the decision core (pure): HPA maths, history, recommenders, decide_horizontal.

``decide_horizontal(history, current HPA settings, policy, now)`` returns the HPA settings to set and the
reasons; ``HorizontalTuning`` wraps it (observe / advance / decide / apply, versioned checkpoints);
recommenders (``static``, ``tortoise``, ``rikugame``) register by name; ``cotune_target`` keeps the replica
count when the vertical side changes a request. No I/O, no clock.
"""

from __future__ import annotations

from rikugame.core.horizontal.cotuning import CoTuned, cotune_request, cotune_target
from rikugame.core.horizontal.deciding import (
    HorizontalDecision,
    HorizontalStatus,
    HorizontalTuning,
    decide_horizontal,
)
from rikugame.core.horizontal.history import HorizontalHistory, ReplicaSlots, hour_of_week
from rikugame.core.horizontal.hpa import Behavior, HPASettings
from rikugame.core.horizontal.policy import HorizontalPolicy
from rikugame.core.horizontal.recommending import (
    Fitted,
    HorizontalContext,
    HorizontalProposal,
    HorizontalReason,
    get,
    names,
    register,
)

# Importing the modules registers their recommenders.
from rikugame.core.horizontal import rikugame, tortoise  # noqa: F401  isort: skip

__all__ = [
    "Behavior", "CoTuned", "Fitted", "HPASettings", "HorizontalContext", "HorizontalDecision", "HorizontalHistory",
    "HorizontalPolicy", "HorizontalProposal", "HorizontalReason", "HorizontalStatus", "HorizontalTuning",
    "ReplicaSlots", "cotune_request", "cotune_target", "decide_horizontal", "get", "hour_of_week", "names",
    "register",
]
