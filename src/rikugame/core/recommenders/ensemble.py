"""Per-row arg-min selection among candidate estimators (pure).

The idea is Autopilot's ML recommender (Rzadca et al., EuroSys 2020, §3.2.2, eq. 6–9): run many
simple models side by side, charge each one for what would have happened had its recommendation been
applied — *overrun* (samples above it) and *underrun* (capacity left unused) — decayed over time, and
pick the cheapest model per workload, switching only when the gain is clear. Here the models are
candidate read-outs (percentile × margin of a signal), scored on the samples that arrive while their
previous value stands, so no model ever sees the future.

cost(m) = overrun_weight × overrun_fraction(m) + (underrun(m) + deficit_weight × deficit(m)) / usage,
where overrun_fraction is the decayed share of samples above the candidate, underrun the decayed
Σ max(value − usage, 0) and deficit the decayed Σ max(usage − value, 0). The last two together are the
pinball (quantile) loss of Koenker & Bassett ("Regression Quantiles", Econometrica 46(1), 1978) scaled
by deficit_weight + 1: its minimiser is the deficit_weight / (deficit_weight + 1) quantile of usage, so
it charges a model for *how far* usage went above it, not only how often.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rikugame.core import checkpoints
from rikugame.core.histograms import FloatArray, IntArray

Reader = Callable[[int], FloatArray]


@dataclass(frozen=True)
class Candidate:
    """One model: a label for explanations and a read-out ``now -> value per row``."""

    label: str
    read: Reader


@dataclass
class ArgMinEnsemble:
    """Choose, per row, the candidate with the lowest decayed overrun + underrun cost."""

    rows: int
    candidates: list[Candidate]
    overrun_weight: float
    cost_half_life_seconds: float
    switch_margin: float = 0.1
    default_choice: int = -1
    """Candidate every row starts with (-1: the cheapest at the first read-out)."""
    deficit_weight: float = 0.0
    """Price of a unit of usage above the candidate relative to a unit of unused capacity."""
    values: FloatArray = field(init=False)
    overrun: FloatArray = field(init=False)
    underrun: FloatArray = field(init=False)
    deficit: FloatArray = field(init=False)
    samples: FloatArray = field(init=False)
    usage: FloatArray = field(init=False)
    chosen: IntArray = field(init=False)
    last_update: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        m = len(self.candidates)
        self.values = np.full((m, self.rows), np.nan)
        self.overrun = np.zeros((m, self.rows))
        self.underrun = np.zeros((m, self.rows))
        self.deficit = np.zeros((m, self.rows))
        self.samples = np.zeros(self.rows)
        self.usage = np.zeros(self.rows)
        self.chosen = np.full(self.rows, self.default_choice, dtype=np.int64)

    def score(self, rows: IntArray, values: FloatArray) -> None:
        """Charge every candidate for samples that arrive while its last value stands."""
        if len(rows) == 0:
            return
        live = ~np.isnan(self.values[0, rows])  # before any read-out nothing stands: skip the candidates
        if not live.any():
            return
        r, v = rows[live], values[live]
        standing = self.values[:, r]
        counts = np.bincount(r, minlength=self.rows).astype(np.float64)
        self.samples += counts
        period_usage = np.bincount(r, weights=v, minlength=self.rows)
        self.usage += period_usage
        seen = counts > 0
        for m in range(len(self.candidates)):
            over = np.bincount(r, weights=(v > standing[m]).astype(np.float64), minlength=self.rows)
            self.overrun[m] += over
            under = np.bincount(r, weights=np.maximum(standing[m] - v, 0.0), minlength=self.rows)
            self.underrun[m] += under
            if self.deficit_weight > 0:
                # Σ max(usage − value, 0) = Σ max(value − usage, 0) − Σ (value − usage); the value
                # stands for the whole period, so the last sum is count × value − Σ usage.
                balance = np.where(seen, counts * np.where(seen, self.values[m], 0.0) - period_usage, 0.0)
                self.deficit[m] += np.maximum(under - balance, 0.0)

    def advance(self, now: int) -> None:
        """Decay the costs to ``now``, re-read every candidate and update the per-row choice.

        The values read here are the ones the following samples are scored against, so this runs on the
        tuning's decision cadence only (a read must not move the model).
        """
        if self.last_update is not None and now > self.last_update:
            factor = math.exp2(-(now - self.last_update) / self.cost_half_life_seconds)
            for acc in (self.overrun, self.underrun, self.deficit, self.samples, self.usage):
                acc *= factor
        self.last_update = now
        self.values = self.read_all(now)
        cost = (self.overrun_weight * self.overrun / np.maximum(self.samples, 1e-9)
                + (self.underrun + self.deficit_weight * self.deficit) / np.maximum(self.usage, 1e-12))
        best = np.argmin(cost, axis=0)
        rows = np.arange(self.rows)
        current = self.chosen
        unset = current < 0
        keep_cost = cost[np.maximum(current, 0), rows]
        switch = unset | (cost[best, rows] < keep_cost * (1 - self.switch_margin))
        self.chosen = np.where(switch, best, current).astype(np.int64)

    def read_all(self, now: int) -> FloatArray:
        """Every candidate's value at ``now`` (candidates × rows)."""
        values: FloatArray = np.vstack([c.read(now) for c in self.candidates])
        return values

    def estimate(self, now: int) -> tuple[FloatArray, IntArray]:
        """(value of each row's chosen candidate at ``now``, the choice); changes no state.

        A row never chosen yet (no ``advance`` so far) reads its default, or the first candidate.
        """
        rows = np.arange(self.rows)
        choice = np.where(self.chosen >= 0, self.chosen, 0).astype(np.int64)
        return self.read_all(now)[choice, rows], choice

    def row_state(self, row: int) -> dict[str, Any]:
        """One row's costs, standing values and choice, exactly (for checkpoints)."""
        acc = np.concatenate((self.values[:, row], self.overrun[:, row], self.underrun[:, row],
                              self.deficit[:, row], [self.samples[row], self.usage[row]]))
        return {"chosen": int(self.chosen[row]), "updated": self.last_update,
                "acc": checkpoints.encode_array(acc)}

    def load_row_state(self, row: int, state: dict[str, Any]) -> None:
        """Restore one row from :meth:`row_state` output."""
        m = len(self.candidates)
        acc = checkpoints.decode_array(checkpoints.field(state, "acc"), np.float64)
        if len(acc) != 4 * m + 2:
            raise checkpoints.CheckpointError(f"ensemble state holds {len(acc)} values, expected {4 * m + 2}")
        self.values[:, row], self.overrun[:, row] = acc[:m], acc[m:2 * m]
        self.underrun[:, row], self.deficit[:, row] = acc[2 * m:3 * m], acc[3 * m:4 * m]
        self.samples[row], self.usage[row] = acc[4 * m], acc[4 * m + 1]
        self.chosen[row] = int(checkpoints.field(state, "chosen"))
        updated = checkpoints.field(state, "updated")
        self.last_update = None if updated is None else int(updated)
