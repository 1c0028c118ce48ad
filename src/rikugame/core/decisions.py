"""Decisions and the reasons behind them (pure data)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from rikugame.core.histograms import IntArray


class Reason(enum.IntFlag):
    """Why a request has the value it has. Several may apply; stored as a bit mask per row."""

    RECOMMENDED = enum.auto()
    """The recommender's estimate was applied as is."""
    INSUFFICIENT_HISTORY = enum.auto()
    """Too little history for an estimate: the current request is kept."""
    STALE_METRICS = enum.auto()
    """No recent sample: nothing shrinks."""
    OOM_BUMP = enum.auto()
    """An OOM kill raised memory at once above the observed peak."""
    BELOW_MIN_CHANGE = enum.auto()
    """The change was too small to be worth making."""
    SCALE_DOWN_COOLDOWN = enum.auto()
    """A decrease happened too recently."""
    SCALE_DOWN_STEP_LIMIT = enum.auto()
    """The decrease was cut to the largest step allowed."""
    MIN_BOUND = enum.auto()
    """Raised to the policy's minimum."""
    MAX_BOUND = enum.auto()
    """Lowered to the policy's maximum."""
    NO_CURRENT = enum.auto()
    """The container had no request before."""
    NOT_TUNED = enum.auto()
    """The Tuner does not tune this resource of this container (its ResourceMode is not Vertical)."""
    EMERGENCY_FREEZE = enum.auto()
    """Emergency mode: nothing shrinks."""

    def describe(self) -> list[str]:
        """Names of the set flags, in declaration order."""
        return [member.name or "" for member in Reason if member in self]


@dataclass(frozen=True)
class ResourceDecisions:
    """Decided values of one resource for every row, with what was proposed and why."""

    proposed: IntArray
    """The recommender's estimate, before guardrails (millicores or bytes)."""
    decided: IntArray
    """The value after guardrails."""
    previous: IntArray
    """The value before this decision (-1 = none)."""
    reasons: IntArray
    """Reason bit mask per row."""
    limit: IntArray
    """The limit that goes with the decided value under the Tuner's limit policy (-1 = no limit)."""

    def changed(self) -> np.ndarray:
        """Rows whose value changed."""
        changed: np.ndarray = self.decided != self.previous
        return changed


@dataclass(frozen=True)
class VerticalDecisions:
    """Requests (and limits) decided for every row at time ``now``."""

    now: int
    cpu: ResourceDecisions
    memory: ResourceDecisions
    cpu_explanation: str
    memory_explanation: str
    history_seconds: np.ndarray
