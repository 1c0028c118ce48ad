"""``decide_horizontal``: history + current HPA settings + policy + clock → desired HPA settings + reasons.

The operator and the simulator call this unchanged. Guardrails, in order:

1. gathering: nothing changes until ``policy.gathering_seconds`` of history (a week by default);
2. co-tuning: when the container's CPU request changed since the last decision, the target moves so the
   replica count at the current load is kept (``cotuning``) and the recommender's target waits;
3. target: evaluated at most once per ``target_update_interval_seconds`` (Tortoise: the interval restarts
   at every evaluation, changed or not), clipped to the policy's range, raised by at most
   ``max_target_increase_percent`` (lowering is not limited);
4. minReplicas / maxReplicas clipped to the policy's ranges, max ≥ min.

``HorizontalTuning`` holds one workload's state around it: ``observe`` (a minute of samples), ``advance``
(the recommender's cadenced step, e.g. rikugame's daily refit), ``decide`` (pure: any number of calls
changes nothing), ``apply`` (what was acted on), and ``to_checkpoint`` / ``from_checkpoint`` (versioned,
JSON-able, exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from rikugame.core.horizontal import recommending
from rikugame.core.horizontal.cotuning import cotune_target
from rikugame.core.horizontal.fields import Fields
from rikugame.core.horizontal.history import HorizontalHistory
from rikugame.core.horizontal.hpa import (
    TORTOISE_BEHAVIOR,
    Behavior,
    HPASettings,
    PolicyType,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
)
from rikugame.core.horizontal.policy import HorizontalPolicy
from rikugame.core.horizontal.recommending import (
    Fitted,
    HorizontalContext,
    HorizontalProposal,
    HorizontalReason,
)

CHECKPOINT_VERSION = 1

_INITIAL_BEHAVIOR = {"tortoise": TORTOISE_BEHAVIOR}
"""Behaviour of the HPA a recommender starts with (Tortoise creates its HPA with its own)."""


@dataclass(frozen=True)
class HorizontalStatus:
    """What decisions remember between calls (kept in the Tuner status by the operator)."""

    last_target_evaluation_seconds: int = -1
    request_millicores: int = -1
    """The CPU request the current target was decided for (-1 = none yet)."""
    write_tokens: float = -1.0
    """HPA writes left in the write budget's bucket at ``tokens_seconds`` (-1 = not started: full)."""
    tokens_seconds: int = -1


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
                      status: HorizontalStatus | None = None,
                      fitted: Fitted | None = None) -> HorizontalDecision:
    """The HPA settings the policy wants at ``now`` (changes no state; apply ``decision.status``).

    ``fitted`` is what the recommender's advance step last derived (``HorizontalTuning.advance``)."""
    status = status or HorizontalStatus()
    first = history.first_seconds
    if first < 0 or now - first < policy.gathering_seconds:
        return HorizontalDecision(now, current, current, None, HorizontalReason.GATHERING_DATA,
                                  replace(status, request_millicores=request_millicores),
                                  "gathering history")
    ctx = HorizontalContext(history, current, policy, now, replicas, request_millicores, fitted)
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
    tokens, tokens_seconds = status.write_tokens, status.tokens_seconds
    if policy.max_writes_per_hour is not None:
        tokens = write_tokens(policy.max_writes_per_hour, status, now)
        tokens_seconds = now
        if settings != current:
            needed = 1.0 if _protective(settings, current) else min(2.0, bucket_size(policy.max_writes_per_hour))
            if tokens >= needed - 1e-9:
                tokens -= 1.0
            else:
                settings = current
                reasons = (reasons & ~HorizontalReason.RECOMMENDED) | HorizontalReason.WRITE_BUDGET
    new_status = HorizontalStatus(evaluated, request_millicores, tokens, tokens_seconds)
    return HorizontalDecision(now, settings, current, proposal, reasons, new_status, proposal.explanation)


def bucket_size(writes_per_hour: float) -> float:
    """Writes the budget's token bucket holds: an hour's allowance, at least one write."""
    return max(1.0, writes_per_hour)


def write_tokens(writes_per_hour: float, status: HorizontalStatus, now: int) -> float:
    """Writes available at ``now``: the bucket refills at ``writes_per_hour`` up to ``bucket_size`` (a token
    bucket: over any span the writes are at most rate × span + bucket size, so the average ≤ the rate)."""
    size = bucket_size(writes_per_hour)
    if status.write_tokens < 0 or status.tokens_seconds < 0:
        return size
    return min(size, status.write_tokens + max(0, now - status.tokens_seconds) / 3600 * writes_per_hour)


def _protective(new: HPASettings, old: HPASettings) -> bool:
    """A change that adds capacity (minReplicas or maxReplicas up, target down) and nothing that removes it:
    it may spend the last write of the budget; a saving change waits until a spare write is left."""
    return ((new.min_replicas >= old.min_replicas and new.max_replicas >= old.max_replicas
             and new.target_utilization_percent <= old.target_utilization_percent)
            and new.behavior == old.behavior)


@dataclass
class HorizontalTuning:
    """One HPA being tuned: history, status, current settings and the recommender's fits.

    Drivers call, per step: ``observe`` (each minute), ``advance(now)``, ``decide(now, …)``, ``apply``."""

    policy: HorizontalPolicy
    current: HPASettings
    history: HorizontalHistory = field(default_factory=HorizontalHistory)
    status: HorizontalStatus = field(default_factory=HorizontalStatus)
    fits: dict[str, Fitted] = field(default_factory=dict)
    """Per recommender name, what its advance step last derived (with the time it did)."""

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

    def advance(self, now: int) -> None:
        """Run the recommender's cadenced step (rikugame: the daily refit) if its cadence has elapsed.

        Nothing runs while the history is still gathering (no decision reads a fit then)."""
        name = self.policy.recommender
        step = recommending.advance_step(name)
        first = self.history.first_seconds
        if step is None or first < 0 or now - first < self.policy.gathering_seconds:
            return
        self.fits[name] = step(self.history, self.policy, now, self.fits.get(name))

    def decide(self, now: int, *, replicas: int, request_millicores: int) -> HorizontalDecision:
        """The decision at ``now`` (no state changes)."""
        return decide_horizontal(self.history, self.current, self.policy, now, replicas=replicas,
                                 request_millicores=request_millicores, status=self.status,
                                 fitted=self.fits.get(self.policy.recommender))

    def apply(self, decision: HorizontalDecision) -> None:
        """Record that ``decision`` was acted on."""
        self.current = decision.settings
        self.status = decision.status

    # -- checkpoints ------------------------------------------------------------------------------
    def to_checkpoint(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this tuning is (``"version": 1``, JSON-able)."""
        return {
            "version": CHECKPOINT_VERSION,
            "recommender": self.policy.recommender,
            "current": _settings_to_dict(self.current),
            "status": {"lastTargetEvaluationSeconds": self.status.last_target_evaluation_seconds,
                       "requestMillicores": self.status.request_millicores,
                       "writeTokens": self.status.write_tokens, "tokensSeconds": self.status.tokens_seconds},
            "fits": {name: {"seconds": f.seconds, "values": list(f.values)} for name, f in self.fits.items()},
            "history": self.history.to_checkpoint(),
        }

    @classmethod
    def from_checkpoint(cls, policy: HorizontalPolicy, data: Any) -> HorizontalTuning:
        """The tuning :meth:`to_checkpoint` saved, under ``policy``; ValueError says what is malformed."""
        f = Fields(data, "checkpoint")
        version = f.integer("version")
        if version != CHECKPOINT_VERSION:
            raise ValueError(f"checkpoint.version: unknown version {version} (this build reads "
                             f"{CHECKPOINT_VERSION})")
        f.text("recommender")
        st = f.sub("status")
        status = HorizontalStatus(st.integer("lastTargetEvaluationSeconds"), st.integer("requestMillicores"),
                                  st.number("writeTokens") if "writeTokens" in st.data else -1.0,
                                  st.integer("tokensSeconds") if "tokensSeconds" in st.data else -1)
        fits_f = f.sub("fits")
        fits = {}
        for name in fits_f.data:
            one = fits_f.sub(name)
            fits[name] = Fitted(one.integer("seconds"), tuple(one.numbers("values")))
        return cls(policy, _settings_from_dict(f.sub("current")),
                   HorizontalHistory.from_checkpoint(f.sub("history")), status, fits)


def _rules_to_dict(rules: ScalingRules) -> dict[str, Any]:
    out: dict[str, Any] = {"policies": [[p.type.value, p.value, p.period_seconds] for p in rules.policies],
           "stabilizationWindowSeconds": rules.stabilization_window_seconds,
           "selectPolicy": rules.select_policy.value}
    if rules.tolerance is not None:
        out["tolerance"] = rules.tolerance
    return out


def _settings_to_dict(s: HPASettings) -> dict[str, Any]:
    return {"targetUtilizationPercent": s.target_utilization_percent, "minReplicas": s.min_replicas,
            "maxReplicas": s.max_replicas, "scaleUp": _rules_to_dict(s.behavior.scale_up),
            "scaleDown": _rules_to_dict(s.behavior.scale_down)}


def _rules_from_dict(f: Fields) -> ScalingRules:
    policies = []
    for i, item in enumerate(f.items("policies")):
        where = f"{f.path}.policies[{i}]"
        if (not isinstance(item, list) or len(item) != 3 or not isinstance(item[0], str)
                or any(isinstance(v, bool) or not isinstance(v, int) for v in item[1:])):
            raise ValueError(f"{where}: expected [type, value, periodSeconds], got {item!r}")
        try:
            policies.append(ScalingPolicy(PolicyType(item[0]), item[1], item[2]))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    try:
        select = SelectPolicy(f.text("selectPolicy"))
    except ValueError as exc:
        raise ValueError(f"{f.path}.selectPolicy: {exc}") from exc
    tolerance = f.number("tolerance") if f.data.get("tolerance") is not None else None
    return ScalingRules(tuple(policies), f.optional_integer("stabilizationWindowSeconds"), select, tolerance)


def _settings_from_dict(f: Fields) -> HPASettings:
    try:
        return HPASettings(f.integer("targetUtilizationPercent"), f.integer("minReplicas"),
                           f.integer("maxReplicas"),
                           Behavior(_rules_from_dict(f.sub("scaleUp")), _rules_from_dict(f.sub("scaleDown"))))
    except ValueError as exc:
        if str(exc).startswith(f.path):
            raise
        raise ValueError(f"{f.path}: {exc}") from exc
