"""VPA-equivalent histograms: layout, percentiles, decay, merge, checkpoints."""

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rikugame.core.checkpoints import CheckpointError
from rikugame.core.histograms import CPU_LAYOUT, MEMORY_LAYOUT, BucketLayout, Histograms

T0 = 1_234_567_890
DAY = 86400
VALUE_EPS = 1e-12


def one_row(half_life=None):
    return Histograms(CPU_LAYOUT, 1, half_life)


def add(h, values, times=None, weights=1.0, row=0):
    values = np.asarray(values, dtype=float)
    times = np.full(len(values), T0) if times is None else np.asarray(times)
    h.add(np.full(len(values), row), values, times, weights)


def test_layouts_have_176_buckets_like_the_vpa():
    assert CPU_LAYOUT.num_buckets == 176
    assert MEMORY_LAYOUT.num_buckets == 176


def test_bucket_boundaries_grow_by_five_percent():
    starts = CPU_LAYOUT.starts
    sizes = np.diff(starts)
    assert sizes[0] == pytest.approx(0.01)
    assert np.allclose(sizes[1:20] / sizes[:19], 1.05)


def test_values_on_a_boundary_go_to_the_bucket_that_starts_there():
    starts = CPU_LAYOUT.starts
    idx = CPU_LAYOUT.find_buckets(starts[:50])
    assert list(idx) == list(range(50))


def test_values_past_the_maximum_go_to_the_last_bucket():
    assert CPU_LAYOUT.find_buckets(np.array([5000.0]))[0] == CPU_LAYOUT.num_buckets - 1


def test_percentile_is_the_upper_boundary_of_the_bucket():
    """Values 1..4 with weights 1..4 (VPA histogram_test.go style): total 10."""
    h = one_row()
    add(h, [1.0, 2.0, 3.0, 4.0], weights=np.array([1.0, 2.0, 3.0, 4.0]))
    upper = {v: CPU_LAYOUT.starts[CPU_LAYOUT.find_buckets(np.array([v]))[0] + 1] for v in (1, 2, 3, 4)}
    assert h.percentile(0.0)[0] == pytest.approx(upper[1])
    assert h.percentile(0.1)[0] == pytest.approx(upper[1])
    assert h.percentile(0.2)[0] == pytest.approx(upper[2])
    assert h.percentile(0.3)[0] == pytest.approx(upper[2])
    assert h.percentile(0.5)[0] == pytest.approx(upper[3])
    assert h.percentile(0.6)[0] == pytest.approx(upper[3])
    assert h.percentile(0.9)[0] == pytest.approx(upper[4])
    assert h.percentile(1.0)[0] == pytest.approx(upper[4])


def test_empty_histogram_reads_zero():
    assert one_row().percentile(0.9)[0] == 0.0


def test_rows_are_independent():
    h = Histograms(CPU_LAYOUT, 3)
    add(h, [1.0], row=0)
    add(h, [10.0], row=2)
    p = h.percentile(0.5)
    assert p[0] < 1.1 and p[1] == 0.0 and p[2] > 9.9


def test_decay_by_one_half_life_halves_a_sample_weight():
    h = one_row(DAY)
    add(h, [1.0], times=[T0])
    add(h, [2.0], times=[T0 + DAY])
    w = h.weights[0]
    assert w[CPU_LAYOUT.find_buckets(np.array([2.0]))[0]] == pytest.approx(
        2 * w[CPU_LAYOUT.find_buckets(np.array([1.0]))[0]])


def test_newer_samples_dominate_after_many_half_lives():
    h = one_row(3600)
    add(h, [1.0] * 10, times=[T0] * 10)
    add(h, [5.0], times=[T0 + 10 * 3600])
    assert h.percentile(0.5)[0] > 5.0


def test_reference_time_shift_keeps_relative_weights():
    """200 half-lives later the reference shifts (exponent > 100); ratios must survive."""
    h = one_row(60)
    add(h, [1.0], times=[T0])
    add(h, [2.0], times=[T0 + 60])
    ratio_before = h.weights[0].max() / h.weights[0][h.weights[0] > 0].min()
    add(h, [3.0], times=[T0 + 60 * 150])
    assert h.reference_time is not None and h.reference_time > T0
    assert np.isfinite(h.weights).all()
    assert ratio_before == pytest.approx(2.0)
    assert h.percentile(0.99)[0] > 3.0


def test_subtract_removes_exactly_what_add_added():
    h = one_row(DAY)
    add(h, [1.0, 2.0], times=[T0, T0 + 100])
    h.subtract(np.array([0]), np.array([2.0]), np.array([T0 + 100]))
    assert h.percentile(1.0)[0] == pytest.approx(h.percentile(0.0)[0])
    assert np.count_nonzero(h.weights) == 1


def test_row_state_round_trip_is_exact():
    h = one_row(DAY)
    add(h, np.linspace(0.1, 3, 40), times=T0 + np.arange(40) * 600)
    state = json.loads(json.dumps(h.row_state(0)))
    restored = one_row(DAY)
    restored.load_row_state(0, state)
    assert restored.reference_time == h.reference_time
    assert np.array_equal(restored.weights, h.weights)


def test_row_state_rejects_a_corrupt_encoding():
    h = one_row(DAY)
    add(h, [1.0])
    state = h.row_state(0)
    state["v"] = "not base64!"
    with pytest.raises(CheckpointError, match="base64"):
        one_row(DAY).load_row_state(0, state)


def test_interpolated_percentile_lies_inside_the_bucket():
    h = one_row()
    add(h, [1.0] * 100)
    b = CPU_LAYOUT.find_buckets(np.array([1.0]))[0]
    value = h.percentile(0.5, interpolate=True)[0]
    assert CPU_LAYOUT.starts[b] <= value <= CPU_LAYOUT.starts[b + 1]


samples = st.lists(st.floats(min_value=0.0, max_value=900.0, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(samples)
def test_percentiles_are_monotone(values):
    h = one_row()
    add(h, values)
    qs = np.linspace(0, 1, 21)
    p = [h.percentile(q)[0] for q in qs]
    assert all(a <= b + VALUE_EPS for a, b in itertools.pairwise(p))


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_merge_equals_adding_both(a, b):
    h1, h2, both = one_row(DAY), one_row(DAY), one_row(DAY)
    add(h1, a, times=[T0] * len(a))
    add(h2, b, times=[T0 + 3600] * len(b))
    add(both, a, times=[T0] * len(a))
    add(both, b, times=[T0 + 3600] * len(b))
    h1.merge(h2)
    assert np.allclose(h1.weights, both.weights)


@settings(max_examples=40, deadline=None)
@given(samples)
def test_one_half_life_later_a_copy_weighs_twice_as_much(values):
    h = one_row(DAY)
    add(h, values, times=[T0] * len(values))
    before = h.total_weight()[0]
    add(h, values, times=[T0 + DAY] * len(values))
    assert h.total_weight()[0] == pytest.approx(3 * before)


def test_merge_rejects_different_layouts():
    with pytest.raises(ValueError):
        one_row().merge(Histograms(BucketLayout(0.1, 1.1, 10.0), 1))


def test_growth_formula_matches_vpa_bucket_count():
    n = math.ceil(math.log(1000 * 0.05 / 0.01 + 1) / math.log(1.05)) + 1
    assert n == CPU_LAYOUT.num_buckets
