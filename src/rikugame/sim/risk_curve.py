"""The memory risk knob's curve: memory allocated against OOM-free entity-days, one replay per setting.

The knob is ``rikugame``'s ``memoryHeadroomCapBytes`` (``recommenderSettings`` of a Tuner spec): the bytes
of headroom above the time-of-day peak. Each point replays the trace through the same ``VerticalTuning``
the backtest uses, with only the knob changed. To keep a sweep affordable the CPU ensemble runs on one
model (VPA's P90 of 24 h × 1.15) instead of 64: memory decisions do not read CPU (the two guardrail chains
and the estimates are independent), so the memory requests are the ones of the full recommender —
``tests/unit/sim/test_risk_curve.py`` checks that they are identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rikugame.core.policy import TunerSpec
from rikugame.sim import replaying, scoring
from rikugame.usage_trace import Trace

MIB = 2**20
KNOB = "memory_headroom_cap_bytes"
KNOB_WIRE = "memoryHeadroomCapBytes"
DEFAULT_CAPS_BYTES: tuple[int, ...] = tuple(m * MIB for m in (0, 128, 256, 384, 512, 768, 1024, 1536, 2048))
"""The settings swept by default: from no headroom to twice the default (1 GiB)."""
ONE_CPU_MODEL: dict[str, Any] = {"cpu_half_lives_seconds": (86400.0,), "cpu_margins": (1.15,)}


@dataclass(frozen=True)
class RiskPoint:
    """Memory figures of one knob setting."""

    cap_bytes: int
    memory_alloc_ratio: float
    oom_free_entity_days_ratio: float
    oom_kills_per_1000_entity_days: float
    changes_per_entity_day_p99: float
    """CPU and memory together, with the one-model CPU (indicative only)."""

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready (snake_case; machine formats camelCase it)."""
        return {"cap_bytes": self.cap_bytes, "memory_alloc_ratio": self.memory_alloc_ratio,
                "oom_free_entity_days_ratio": self.oom_free_entity_days_ratio,
                "oom_kills_per_1000_entity_days": self.oom_kills_per_1000_entity_days}


def memory_risk_curve(trace: Trace, spec: TunerSpec, *, caps_bytes: Sequence[int] = DEFAULT_CAPS_BYTES,
                      recompute_seconds: int = 3600, warmup_seconds: int = 86400, oom_feedback: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> list[RiskPoint]:
    """One point per cap: replay ``trace`` with ``spec`` (a ``rikugame`` spec) and the knob set to it."""
    if spec.recommender != "rikugame":
        raise ValueError(f"the memory risk knob belongs to rikugame, not {spec.recommender!r}")
    points = []
    for i, cap in enumerate(caps_bytes):
        result = replaying.replay(trace, spec, recompute_seconds=recompute_seconds, oom_feedback=oom_feedback,
                                  recommender_settings={**ONE_CPU_MODEL, KNOB: float(cap)})
        s = scoring.score(trace, result, warmup_seconds=warmup_seconds)
        if s.memory_alloc_ratio is None or s.oom_free_entity_days_ratio is None:
            raise ValueError("the trace has no memory to score")
        points.append(RiskPoint(int(cap), s.memory_alloc_ratio, s.oom_free_entity_days_ratio,
                                s.oom_kills_per_1000_entity_days or 0.0, s.changes_per_entity_day_p99))
        if progress is not None:
            progress(i + 1, len(caps_bytes))
    return points
