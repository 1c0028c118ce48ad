"""Horizontal recommenders: pure functions from history + current HPA settings to proposed HPA settings.

A recommender is registered under a name with ``@register("name")`` and receives a ``HorizontalContext``;
``decide_horizontal`` (``deciding``) applies the policy's guardrails to what it proposes. A recommender that
derives something from the history on a cadence (``rikugame``'s daily fit) also registers an advance step
with ``@register_advance("name")``: ``HorizontalTuning.advance(now)`` runs it and keeps what it returns
(a ``Fitted``, saved in checkpoints); proposals only read it. New recommenders need no change elsewhere.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import Behavior, HPASettings
from rikugame.core.horizontal.policy import HorizontalPolicy
from rikugame.core.registry import Registry


class HorizontalReason(enum.IntFlag):
    """Why the HPA settings have the values they have (bit mask)."""

    RECOMMENDED = enum.auto()
    """The recommender's proposal was applied as is."""
    GATHERING_DATA = enum.auto()
    """Too little history: the current settings are kept."""
    TARGET_INTERVAL = enum.auto()
    """The target changed too recently to be changed again."""
    TARGET_KEPT_LOW_USAGE = enum.auto()
    """Usage is below the target (minReplicas or unbalanced size): the target is kept."""
    TARGET_BOUND = enum.auto()
    """The target was clipped to the policy's range."""
    TARGET_STEP_LIMIT = enum.auto()
    """The target rise was cut to the largest step allowed."""
    MIN_REPLICAS_BOUND = enum.auto()
    """minReplicas was clipped to the policy's range."""
    MAX_REPLICAS_BOUND = enum.auto()
    """maxReplicas was clipped to the policy's range."""
    CO_TUNED = enum.auto()
    """The container request changed: the target moved so the replica count at this load is kept."""
    AT_MAX_REPLICAS = enum.auto()
    """The workload runs at the hard maximum: the target is not re-evaluated."""
    WRITE_BUDGET = enum.auto()
    """The change waits: the HPA write budget (``maxWritesPerHour``) has no write to spare now."""

    def describe(self) -> list[str]:
        """Names of the set flags, in declaration order."""
        return [member.name or "" for member in HorizontalReason if member in self]


@dataclass(frozen=True)
class Fitted:
    """What a recommender's advance step derived from the history at ``seconds`` (plain numbers)."""

    seconds: int
    values: tuple[float, ...]


@dataclass(frozen=True)
class HorizontalContext:
    """What a recommender may read."""

    history: HorizontalHistory
    current: HPASettings
    policy: HorizontalPolicy
    now: int
    replicas: int
    """spec.replicas of the workload now."""
    request_millicores: int
    """CPU request of the scaled container now."""
    fitted: Fitted | None = None
    """The recommender's latest ``Fitted`` (None: its advance step never ran, or it has none)."""


@dataclass(frozen=True)
class HorizontalProposal:
    """A recommender's proposal, before guardrails."""

    target_utilization_percent: int
    min_replicas: int
    max_replicas: int
    behavior: Behavior
    explanation: str
    reasons: HorizontalReason = HorizontalReason.RECOMMENDED


HorizontalRecommender = Callable[[HorizontalContext], HorizontalProposal]
REGISTRY: Registry[HorizontalRecommender] = Registry("horizontal recommender")
register = REGISTRY.register
names = REGISTRY.names
get = REGISTRY.get

AdvanceStep = Callable[[HorizontalHistory, HorizontalPolicy, int, Fitted | None], Fitted]
"""(history, policy, now, previous) -> the new ``Fitted`` (``previous`` itself when its cadence has not
elapsed)."""
ADVANCE_STEPS: Registry[AdvanceStep] = Registry("horizontal advance step")
register_advance = ADVANCE_STEPS.register


def advance_step(name: str) -> AdvanceStep | None:
    """The advance step of recommender ``name``, None when it has none."""
    return ADVANCE_STEPS.get(name) if name in ADVANCE_STEPS.names() else None


def policy_behavior(policy: HorizontalPolicy, default: Behavior) -> Behavior:
    """The policy's behaviour when it sets one, else ``default``."""
    return policy.behavior.to_behavior() if policy.behavior is not None else default


@register("static")
def static(ctx: HorizontalContext) -> HorizontalProposal:
    """Fixed target, minReplicas and maxReplicas from the policy (what most clusters run)."""
    p = ctx.policy
    return HorizontalProposal(p.target_utilization_percent, p.min_replicas, p.max_replicas,
                              policy_behavior(p, Behavior()), "fixed by the policy")
