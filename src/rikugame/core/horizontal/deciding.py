"""``decide_horizontal``: history + current HPA settings + policy + clock → desired HPA settings + reasons.

The operator and the simulator call this unchanged. Guardrails, in order:

1. gathering: nothing changes until ``policy.gathering_seconds`` of history (a week by default);
2. co-tuning: when the container's CPU request changed since the last decision, the target moves so the
   replica count at the current load is kept (``cotuning``) and the recommender's target waits;
3. target: evaluated at most once per ``target_update_interval_seconds`` (Tortoise: the interval restarts
   at every evaluation, changed or not), clipped to the policy's range, raised by at most
   ``max_target_increase_percent`` (lowering is not limited);
4. minReplicas / maxReplicas clipped to the policy's ranges, max ≥ min.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rikugame.core.horizontal import recommending
from rikugame.core.horizontal.cotuning import cotune_target
from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import TORTOISE_BEHAVIOR, Behavior, HPASettings
from rikugame.core.horizontal.policy import HorizontalPolicy
from rikugame.core.horizontal.recommending import HorizontalContext, HorizontalProposal, HorizontalReason

_INITIAL_BEHAVIOR = {"tortoise": TORTOISE_BEHAVIOR}
"""Behaviour of the HPA a recommender starts with (Tortoise creates its HPA with its own)."""


@dataclass(frozen=True)
class HorizontalStatus:
    """What decisions remember between calls (kept in the Tuner status by the operator)."""

    last_target_evaluation_seconds: int = -1
    request_millicores: int = -1
    """The CPU request the current target was decided for (-1 = none yet)."""


@dataclass(frozen=True)
class HorizontalDecision:
    """Desired HPA settings at ``now``, what was proposed, and why."""

    now: int
    settings: HPASettings
    previous: HPASettings
    proposal: HorizontalProposal | None
    reasons: HorizontalReason
    status: HorizontalStatus
    explanation: str

    def changed(self) -> bool:
        """Whether anything on the HPA changes."""
        return self.settings != self.previous


def decide_horizontal(history: HorizontalHistory, current: HPASettings, policy: HorizontalPolicy, now: int, *,
                      replicas: int, request_millicores: int,
                      status: HorizontalStatus | None = None) -> HorizontalDecision:
    """The HPA settings the policy wants at ``now`` (changes no state; apply ``decision.status``)."""
    status = status or HorizontalStatus()
    first = history.first_seconds
    if first < 0 or now - first < policy.gathering_seconds:
        return HorizontalDecision(now, current, current, None, HorizontalReason.GATHERING_DATA,
                                  replace(status, request_millicores=request_millicores),
                                  "gathering history")
    ctx = HorizontalContext(history, current, policy, now, replicas, request_millicores)
    proposal = recommending.get(policy.recommender)(ctx)
    reasons = proposal.reasons
    target = current.target_utilization_percent
    evaluated = status.last_target_evaluation_seconds
    lo, hi = policy.min_target_utilization_percent, policy.max_target_utilization_percent
    if 0 < status.request_millicores != request_millicores:
        co = cotune_target(target, status.request_millicores, request_millicores,
                           min_percent=lo, max_percent=hi)
        target = co.target_utilization_percent
        reasons |= HorizontalReason.CO_TUNED
        if not co.preserved:
            reasons |= HorizontalReason.TARGET_BOUND
    elif evaluated < 0 or now - evaluated > policy.target_update_interval_seconds:
        evaluated = now
        wanted = min(max(proposal.target_utilization_percent, lo), hi)
        if wanted != proposal.target_utilization_percent:
            reasons |= HorizontalReason.TARGET_BOUND
        if wanted - target > policy.max_target_increase_percent:
            wanted = target + policy.max_target_increase_percent
            reasons |= HorizontalReason.TARGET_STEP_LIMIT
        target = wanted
    elif proposal.target_utilization_percent != target:
        reasons |= HorizontalReason.TARGET_INTERVAL
    min_replicas = min(max(proposal.min_replicas, policy.min_replicas_floor), policy.min_replicas_cap)
    if min_replicas != proposal.min_replicas:
        reasons |= HorizontalReason.MIN_REPLICAS_BOUND
    max_replicas = min(max(proposal.max_replicas, policy.max_replicas_floor), policy.max_replicas_cap)
    if max_replicas != proposal.max_replicas:
        reasons |= HorizontalReason.MAX_REPLICAS_BOUND
    max_replicas = max(max_replicas, min_replicas)
    settings = HPASettings(target, min_replicas, max_replicas, proposal.behavior)
    if (settings.target_utilization_percent, settings.min_replicas, settings.max_replicas) != (
            proposal.target_utilization_percent, proposal.min_replicas, proposal.max_replicas):
        reasons &= ~HorizontalReason.RECOMMENDED
    new_status = HorizontalStatus(evaluated, request_millicores)
    return HorizontalDecision(now, settings, current, proposal, reasons, new_status, proposal.explanation)


@dataclass
class HorizontalTuning:
    """One HPA being tuned: history, status and current settings around ``decide_horizontal``."""

    policy: HorizontalPolicy
    current: HPASettings
    history: HorizontalHistory = field(default_factory=HorizontalHistory)
    status: HorizontalStatus = field(default_factory=HorizontalStatus)

    @classmethod
    def start(cls, policy: HorizontalPolicy, history: HorizontalHistory | None = None) -> HorizontalTuning:
        """A tuning that starts from the policy's initial settings."""
        initial = HPASettings(policy.target_utilization_percent, policy.min_replicas, policy.max_replicas,
                              recommending.policy_behavior(policy, _INITIAL_BEHAVIOR.get(policy.recommender,
                                                                                         Behavior())))
        return cls(policy, initial, history or HorizontalHistory())

    def observe(self, now: int, replicas: int, ready_pods: float, usage_per_pod_cores: float) -> None:
        """One minute of samples."""
        self.history.observe(now, replicas, ready_pods, usage_per_pod_cores)

    def decide(self, now: int, *, replicas: int, request_millicores: int) -> HorizontalDecision:
        """The decision at ``now`` (no state changes)."""
        return decide_horizontal(self.history, self.current, self.policy, now, replicas=replicas,
                                 request_millicores=request_millicores, status=self.status)

    def apply(self, decision: HorizontalDecision) -> None:
        """Record that ``decision`` was acted on."""
        self.current = decision.settings
        self.status = decision.status
