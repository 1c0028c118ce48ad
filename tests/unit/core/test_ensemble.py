"""The arg-min ensemble: its deficit (pinball) term and the shared percentile read-outs."""

import numpy as np
import pytest

from rikugame.core.histograms import CPU_LAYOUT
from rikugame.core.recommenders.ensemble import ArgMinEnsemble, Candidate
from rikugame.core.recommenders.rikugame_default import PercentileReadout
from rikugame.core.signals import SampleHistogram

T0 = 1_372_629_600
HOUR = 3600


def constant(label: str, values: list[float]) -> Candidate:
    return Candidate(label, lambda now: np.array(values, dtype=np.float64))


def test_deficit_is_the_usage_above_each_candidate():
    ens = ArgMinEnsemble(2, [constant("low", [1.0, 2.0]), constant("high", [3.0, 5.0])], 0.0, HOUR,
                         deficit_weight=1.0)
    ens.advance(T0)
    rows = np.array([0, 0, 0, 1, 1])
    usage = np.array([0.5, 2.0, 4.0, 1.0, 6.0])
    ens.score(rows, usage)
    # row 0: above 1.0 by 1.0 and 3.0; above 3.0 by 1.0. Row 1: above 2.0 by 4.0; above 5.0 by 1.0.
    assert ens.deficit[:, 0] == pytest.approx([4.0, 1.0])
    assert ens.deficit[:, 1] == pytest.approx([4.0, 1.0])
    assert ens.underrun[:, 0] == pytest.approx([0.5, 2.5 + 1.0])


def test_deficit_weight_moves_the_choice_to_the_candidate_that_covers_bursts():
    """Short bursts to 3x: counted as a share of samples they are cheap, priced by size they are not."""
    def run(deficit_weight: float) -> int:
        ens = ArgMinEnsemble(1, [constant("tight", [1.0]), constant("roomy", [3.0])], 2.0, 24 * HOUR,
                             switch_margin=0.0, default_choice=0, deficit_weight=deficit_weight)
        for h in range(48):
            ens.advance(T0 + h * HOUR)
            usage = np.array([1.0] * 10 + [3.0] * 2)
            ens.score(np.zeros(12, dtype=np.int64), usage)
        ens.advance(T0 + 48 * HOUR)
        return int(ens.estimate(T0 + 48 * HOUR)[1][0])

    assert run(0.0) == 0
    assert run(14.0) == 1


def test_percentile_readout_is_computed_once_per_time_and_refreshed_after_samples():
    signal = SampleHistogram(CPU_LAYOUT, 1, None)
    readout = PercentileReadout(signal)
    signal.observe(np.zeros(10, dtype=np.int64), np.full(10, T0), np.linspace(0.1, 1.0, 10))
    first = readout.percentile(0.9, T0 + HOUR)
    assert readout.percentile(0.9, T0 + HOUR) is first
    signal.observe(np.zeros(10, dtype=np.int64), np.full(10, T0), np.full(10, 5.0))
    readout.clear()
    assert readout.percentile(0.9, T0 + HOUR)[0] > first[0]
