"""A batch of containers being tuned: recommender state + current settings + guardrail memory (pure).

The operator (a Tuner's containers), the report and the backtest (a fleet) all drive this one class:
``observe`` samples, ``record_oom`` kills, ``decide(now)`` for a decision, ``apply`` it when it was
acted on. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core import guardrails, recommenders
from rikugame.core.decisions import ResourceDecisions, VerticalDecisions
from rikugame.core.histograms import FloatArray, IntArray
from rikugame.core.policy import TunerSpec
from rikugame.core.recommenders.base import BoolArray, Recommender
from rikugame.core.samples import UsageSamples, WindowSummary


def _ceil_int(values: FloatArray) -> IntArray:
    out: IntArray = np.ceil(np.round(values, 6)).astype(np.int64)
    return out


@dataclass
class VerticalTuning:
    """Vertical tuning of ``rows`` containers under one Tuner spec."""

    rows: int
    spec: TunerSpec
    recommender_settings: dict[str, Any] = field(default_factory=dict)
    recommender: Recommender = field(init=False)
    current_cpu_millicores: IntArray = field(init=False)
    current_memory_bytes: IntArray = field(init=False)
    last_cpu_decrease: IntArray = field(init=False)
    last_memory_decrease: IntArray = field(init=False)
    last_sample: IntArray = field(init=False)
    oom_pending: BoolArray = field(init=False)
    oom_base_bytes: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.recommender = recommenders.create(self.spec.recommender, self.rows, **self.recommender_settings)
        self.current_cpu_millicores = np.full(self.rows, -1, dtype=np.int64)
        self.current_memory_bytes = np.full(self.rows, -1, dtype=np.int64)
        self.last_cpu_decrease = np.full(self.rows, -1, dtype=np.int64)
        self.last_memory_decrease = np.full(self.rows, -1, dtype=np.int64)
        self.last_sample = np.full(self.rows, -1, dtype=np.int64)
        self.oom_pending = np.zeros(self.rows, dtype=bool)
        self.oom_base_bytes = np.zeros(self.rows, dtype=np.float64)

    def observe(self, samples: UsageSamples) -> None:
        """Ingest usage samples (sorted by row, then time)."""
        if len(samples) == 0:
            return
        self.recommender.observe(samples)
        np.maximum.at(self.last_sample, samples.rows, samples.timestamps)

    def observe_summary(self, summary: WindowSummary) -> None:
        """Ingest window statistics computed elsewhere (only recommenders with ``observe_summary`` take them).

        Raises TypeError when the recommender needs every sample (use ``observe`` then).
        """
        take = getattr(self.recommender, "observe_summary", None)
        if take is None:
            raise TypeError(f"recommender {self.recommender.name!r} needs samples, not a window summary")
        take(summary)
        np.maximum(self.last_sample, summary.last, out=self.last_sample)

    def accepts_summary(self) -> bool:
        """Whether the recommender can take a :class:`WindowSummary` instead of every sample."""
        return hasattr(self.recommender, "observe_summary")

    def record_oom(self, rows: IntArray, timestamps: IntArray, memory_bytes: FloatArray) -> None:
        """OOM kills: ``memory_bytes`` is max(limit, observed peak) at each kill."""
        if len(rows) == 0:
            return
        self.recommender.record_oom(rows, timestamps, memory_bytes)
        self.oom_pending[rows] = True
        np.maximum.at(self.oom_base_bytes, rows, memory_bytes)

    def set_current(self, cpu_millicores: IntArray, memory_bytes: IntArray) -> None:
        """Tell the tuning what the containers request now (-1 = no request)."""
        self.current_cpu_millicores = np.asarray(cpu_millicores, dtype=np.int64).copy()
        self.current_memory_bytes = np.asarray(memory_bytes, dtype=np.int64).copy()

    def decide(self, now: int) -> VerticalDecisions:
        """Desired requests for every row at ``now`` (does not change any state)."""
        est = self.recommender.estimate(now)
        g = self.spec.vertical
        b = self.spec.bounds
        fresh = (self.last_sample >= 0) & (now - self.last_sample <= g.stale_after_seconds)

        def rules(minimum: int, maximum: int) -> guardrails.ResourceRules:
            return guardrails.ResourceRules(
                minimum=minimum, maximum=maximum, scale_down_max_ratio=g.scale_down_max_ratio,
                scale_down_interval_seconds=g.scale_down_interval_seconds,
                min_change_ratio=g.min_change_ratio)

        cpu_proposed = _ceil_int(est.cpu_cores * 1000)
        cpu = guardrails.apply_chain(
            cpu_proposed, self.current_cpu_millicores,
            rules(b.min_cpu_millicores, b.max_cpu_millicores), now=now, sufficient=est.sufficient,
            fresh=fresh, last_decrease=self.last_cpu_decrease)
        mem_proposed = _ceil_int(est.memory_bytes)
        mem = guardrails.apply_chain(
            mem_proposed, self.current_memory_bytes,
            rules(b.min_memory_bytes, b.max_memory_bytes), now=now, sufficient=est.sufficient,
            fresh=fresh, last_decrease=self.last_memory_decrease, oom=self.oom_pending,
            oom_base=self.oom_base_bytes, oom_ratio=g.oom_bump_ratio, oom_min_bytes=g.oom_min_bump_bytes)
        return VerticalDecisions(
            now=now,
            cpu=ResourceDecisions(cpu_proposed, cpu.value, self.current_cpu_millicores.copy(), cpu.reasons),
            memory=ResourceDecisions(mem_proposed, mem.value, self.current_memory_bytes.copy(), mem.reasons),
            cpu_explanation=est.cpu_explanation,
            memory_explanation=est.memory_explanation,
            history_seconds=est.history_seconds,
        )

    def apply(self, decisions: VerticalDecisions) -> None:
        """Record that ``decisions`` were acted on: they become the current requests."""
        now = decisions.now
        down_cpu = (decisions.cpu.previous >= 0) & (decisions.cpu.decided < decisions.cpu.previous)
        down_mem = (decisions.memory.previous >= 0) & (decisions.memory.decided < decisions.memory.previous)
        self.last_cpu_decrease[down_cpu] = now
        self.last_memory_decrease[down_mem] = now
        self.current_cpu_millicores = decisions.cpu.decided.copy()
        self.current_memory_bytes = decisions.memory.decided.copy()
        self.oom_pending[:] = False
        self.oom_base_bytes[:] = 0.0
