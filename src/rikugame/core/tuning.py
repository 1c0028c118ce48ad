"""A batch of containers being tuned vertically: recommender state, current settings, guardrail memory (pure).

``WorkloadTuning`` (``workload``) wraps one of these per Tuner; the report and the backtest drive a whole
fleet as one batch. The cycle is ``observe`` samples / ``record_oom`` kills as they come, ``advance(now)``
on the decision cadence (the only step that moves the model with time), ``decide(now)`` (pure: any number
of calls changes nothing), ``apply`` what was actually done. ``to_checkpoint`` / ``from_checkpoint`` save
and restore everything exactly. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core import checkpoints, guardrails, recommenders
from rikugame.core.decisions import ResourceDecisions, VerticalDecisions
from rikugame.core.histograms import FloatArray, IntArray
from rikugame.core.limits import limits_for
from rikugame.core.policy import TunerSpec, UpdateMode
from rikugame.core.recommenders.base import BoolArray, Recommender
from rikugame.core.samples import UsageSamples, WindowSummary

CHECKPOINT_KIND = "VerticalTuning"


def _ceil_int(values: FloatArray) -> IntArray:
    out: IntArray = np.ceil(np.round(values, 6)).astype(np.int64)
    return out


def _full(rows: int, value: int) -> IntArray:
    return np.full(rows, value, dtype=np.int64)


@dataclass
class VerticalTuning:
    """Vertical tuning of ``rows`` containers under one Tuner spec.

    Per-row bounds and "is this resource tuned" masks default to the spec's; ``WorkloadTuning`` sets them
    from the per-container policies. The recommender gets the spec's ``recommenderSettings``, overridden by
    ``recommender_settings`` (what a front end must impose, e.g. the report's history window).
    """

    rows: int
    spec: TunerSpec
    recommender_settings: dict[str, Any] = field(default_factory=dict)
    recommender: Recommender = field(init=False)
    last_advance: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        n = self.rows
        settings = {**self.spec.recommender_kwargs(), **self.recommender_settings}
        self.recommender = recommenders.create(self.spec.recommender, n, **settings)
        self.guardrails = self.spec.guardrails()
        b = self.spec.bounds
        self.min_cpu_millicores = _full(n, b.min_cpu_millicores)
        self.max_cpu_millicores = _full(n, b.max_cpu_millicores)
        self.min_memory_bytes = _full(n, b.min_memory_bytes)
        self.max_memory_bytes = _full(n, b.max_memory_bytes)
        self.cpu_tuned: BoolArray = np.ones(n, dtype=bool)
        self.memory_tuned: BoolArray = np.ones(n, dtype=bool)
        self.current_cpu_millicores = _full(n, -1)
        self.current_memory_bytes = _full(n, -1)
        self.current_cpu_limit = _full(n, -1)
        self.current_memory_limit = _full(n, -1)
        self.last_cpu_decrease = _full(n, -1)
        self.last_memory_decrease = _full(n, -1)
        self.last_sample = _full(n, -1)
        self.oom_pending: BoolArray = np.zeros(n, dtype=bool)
        self.oom_base_bytes: FloatArray = np.zeros(n, dtype=np.float64)

    # -- input ---------------------------------------------------------------------------------------
    def observe(self, samples: UsageSamples) -> None:
        """Ingest usage samples (any order within and across calls)."""
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
        """OOM kills: ``memory_bytes`` is max(limit, observed peak) at each kill. The bump is decided at once."""
        if len(rows) == 0:
            return
        self.recommender.record_oom(rows, timestamps, memory_bytes)
        self.oom_pending[rows] = True
        np.maximum.at(self.oom_base_bytes, rows, memory_bytes)

    def set_current(self, cpu_millicores: IntArray, memory_bytes: IntArray, *,
                    cpu_limit: IntArray | None = None, memory_limit: IntArray | None = None) -> None:
        """Tell the tuning what the containers request (and limit) now (-1 = none)."""
        self.current_cpu_millicores = np.asarray(cpu_millicores, dtype=np.int64).copy()
        self.current_memory_bytes = np.asarray(memory_bytes, dtype=np.int64).copy()
        if cpu_limit is not None:
            self.current_cpu_limit = np.asarray(cpu_limit, dtype=np.int64).copy()
        if memory_limit is not None:
            self.current_memory_limit = np.asarray(memory_limit, dtype=np.int64).copy()

    # -- the cycle -----------------------------------------------------------------------------------
    def due(self, now: int) -> bool:
        """Whether the decision cadence has elapsed since the last advance."""
        return self.last_advance is None or now - self.last_advance >= self.guardrails.decision_interval_seconds

    def advance(self, now: int) -> bool:
        """Move the model to ``now`` when the decision cadence has elapsed; returns whether it did."""
        if not self.due(now):
            return False
        self.recommender.advance(now)
        self.last_advance = now
        return True

    def decide(self, now: int, *, emergency: bool = False) -> VerticalDecisions:
        """Desired requests and limits for every row at ``now`` (changes no state). ``emergency`` freezes
        every shrink as the ``Emergency`` mode does (the operator sets it when metrics go missing)."""
        est = self.recommender.estimate(now)
        g = self.guardrails
        fresh = (self.last_sample >= 0) & (now - self.last_sample <= g.stale_after_seconds)
        frozen = emergency or self.spec.mode is UpdateMode.EMERGENCY

        def rules(minimum: IntArray, maximum: IntArray, *, memory: bool = False) -> guardrails.ResourceRules:
            return guardrails.ResourceRules(
                minimum=minimum, maximum=maximum,
                scale_down_max_ratio=g.memory_max_step_ratio if memory else g.max_step_ratio,
                scale_down_interval_seconds=g.memory_decrease_interval_seconds if memory
                else g.decrease_interval_seconds, min_change_ratio=g.min_change_ratio)

        cpu_proposed = _ceil_int(est.cpu_cores * 1000)
        cpu = guardrails.apply_chain(
            cpu_proposed, self.current_cpu_millicores, rules(self.min_cpu_millicores, self.max_cpu_millicores),
            now=now, sufficient=est.sufficient, fresh=fresh, last_decrease=self.last_cpu_decrease)
        mem_proposed = _ceil_int(est.memory_bytes)
        mem = guardrails.apply_chain(
            mem_proposed, self.current_memory_bytes, rules(self.min_memory_bytes, self.max_memory_bytes, memory=True),
            now=now, sufficient=est.sufficient, fresh=fresh, last_decrease=self.last_memory_decrease,
            oom=self.oom_pending, oom_base=self.oom_base_bytes, oom_ratio=g.oom_bump_ratio,
            oom_min_bytes=g.oom_min_bump_bytes)
        for p, current, tuned in ((cpu, self.current_cpu_millicores, self.cpu_tuned),
                                  (mem, self.current_memory_bytes, self.memory_tuned)):
            if frozen:
                guardrails.freeze_shrink(p, current)
            guardrails.untuned(p, current, tuned=tuned)
        lim = self.spec.limits
        cpu_limit = limits_for(lim.cpu, lim.cpu_limit_ratio, cpu.value, self.current_cpu_limit)
        mem_limit = limits_for(lim.memory, lim.memory_limit_ratio, mem.value, self.current_memory_limit)
        cpu_limit = np.where(self.cpu_tuned, cpu_limit, self.current_cpu_limit)
        mem_limit = np.where(self.memory_tuned, mem_limit, self.current_memory_limit)
        return VerticalDecisions(
            now=now,
            cpu=ResourceDecisions(cpu_proposed, cpu.value, self.current_cpu_millicores.copy(), cpu.reasons,
                                  cpu_limit),
            memory=ResourceDecisions(mem_proposed, mem.value, self.current_memory_bytes.copy(), mem.reasons,
                                     mem_limit),
            cpu_explanation=est.cpu_explanation,
            memory_explanation=est.memory_explanation,
            history_seconds=est.history_seconds,
        )

    def apply(self, decisions: VerticalDecisions, rows: IntArray | None = None) -> None:
        """Record that ``decisions`` were acted on for ``rows`` (default: all): they become current.

        Rows not applied (a resize that failed, a container skipped) keep their settings, decrease times and
        pending OOMs.
        """
        now = decisions.now
        sel: BoolArray = np.zeros(self.rows, dtype=bool)
        sel[np.arange(self.rows) if rows is None else np.asarray(rows, dtype=np.int64)] = True
        c, m = decisions.cpu, decisions.memory
        self.last_cpu_decrease[sel & (c.previous >= 0) & (c.decided < c.previous)] = now
        self.last_memory_decrease[sel & (m.previous >= 0) & (m.decided < m.previous)] = now
        self.current_cpu_millicores[sel] = c.decided[sel]
        self.current_memory_bytes[sel] = m.decided[sel]
        self.current_cpu_limit[sel] = c.limit[sel]
        self.current_memory_limit[sel] = m.limit[sel]
        self.oom_pending[sel] = False
        self.oom_base_bytes[sel] = 0.0

    # -- rows ----------------------------------------------------------------------------------------
    _ROW_FIELDS = ("current_cpu_millicores", "current_memory_bytes", "current_cpu_limit", "current_memory_limit",
                   "last_cpu_decrease", "last_memory_decrease", "last_sample")

    def row_state(self, row: int) -> dict[str, Any]:
        """Everything held for one container, JSON-able and exact."""
        return {"settings": [int(getattr(self, name)[row]) for name in self._ROW_FIELDS],
                "oom": [bool(self.oom_pending[row]), float(self.oom_base_bytes[row])],
                "model": self.recommender.row_state(row)}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one container from :meth:`row_state` output."""
        settings = checkpoints.field(state, "settings")
        if len(settings) != len(self._ROW_FIELDS):
            raise checkpoints.CheckpointError(f"container settings hold {len(settings)} values, expected "
                                              f"{len(self._ROW_FIELDS)}")
        for name, value in zip(self._ROW_FIELDS, settings, strict=True):
            getattr(self, name)[row] = int(value)
        pending, base = checkpoints.field(state, "oom")
        self.oom_pending[row], self.oom_base_bytes[row] = bool(pending), float(base)
        self.recommender.load_row_state(row, checkpoints.field(state, "model"))

    def reshaped(self, sources: list[int | None]) -> VerticalTuning:
        """A tuning whose row i continues this one's row ``sources[i]`` (None: a new, empty row)."""
        new = VerticalTuning(len(sources), self.spec, self.recommender_settings)
        new.last_advance = self.last_advance
        for i, source in enumerate(sources):
            if source is not None:
                new.load_row_state(i, self.row_state(source))
        return new

    # -- checkpoints ---------------------------------------------------------------------------------
    def to_checkpoint(self) -> dict[str, Any]:
        """Everything, JSON-able, versioned; :meth:`from_checkpoint` restores it exactly."""
        return {"version": checkpoints.FORMAT_VERSION, "kind": CHECKPOINT_KIND,
                "recommender": self.spec.recommender, "lastAdvance": self.last_advance,
                "rows": [self.row_state(r) for r in range(self.rows)]}

    @classmethod
    def from_checkpoint(cls, spec: TunerSpec, data: dict[str, Any],
                        recommender_settings: dict[str, Any] | None = None) -> VerticalTuning:
        """Rebuild a tuning from :meth:`to_checkpoint` output (CheckpointError when unusable)."""
        checkpoints.check_version(data, CHECKPOINT_KIND)
        if checkpoints.field(data, "recommender") != spec.recommender:
            raise checkpoints.CheckpointError(f"checkpoint of recommender {data['recommender']!r}, the spec "
                                              f"asks for {spec.recommender!r}")
        rows = checkpoints.field(data, "rows")
        tuning = cls(len(rows), spec, dict(recommender_settings or {}))
        last = checkpoints.field(data, "lastAdvance")
        tuning.last_advance = None if last is None else int(last)
        for r, state in enumerate(rows):
            tuning.load_row_state(r, state)
        return tuning
