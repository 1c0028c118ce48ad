"""Co-tuning: when the vertical side changes the CPU request of an HPA-scaled container (pure).

The HPA compares usage / request with its target, so a new request alone moves the replica count (the
HPA/VPA feedback loop, ``../shared/reference/peers-and-anchors.md`` §1.2: krr PR #80, Goldilocks #449).
Keeping the replica count at the current load needs usage / new request / new target = usage / old
request / old target, i.e. new target = old target × old request / new request (the "preserve scale
point" rule StormForge describes, §1.3). The target is rounded to the nearest whole percent and clipped
to the policy's range; when clipping bites the replica count is not fully preserved and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoTuned:
    """A co-tuned HPA target."""

    target_utilization_percent: int
    preserved: bool
    """False when the policy's target range prevented keeping the replica count."""


def cotune_target(target_utilization_percent: int, old_request_millicores: int, new_request_millicores: int,
                  *, min_percent: int = 1, max_percent: int = 100) -> CoTuned:
    """The target that keeps the replica count when the request goes from old to new."""
    if old_request_millicores <= 0 or new_request_millicores <= 0:
        raise ValueError("requests must be positive to co-tune the HPA target")
    exact = target_utilization_percent * old_request_millicores / new_request_millicores
    rounded = int(exact + 0.5)
    clipped = min(max(rounded, min_percent), max_percent)
    return CoTuned(clipped, clipped == rounded)


def cotune_request(request_millicores: int, target_utilization_percent: int, new_target_percent: int) -> int:
    """The request that keeps the replica count when the target goes to ``new_target_percent``."""
    return max(1, round(request_millicores * target_utilization_percent / new_target_percent))
