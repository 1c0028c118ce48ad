"""Quality on the shared Bitbrains trace: the peer emulations reproduce the reference figures (±3 %)
and ``rikugame`` meets the quality bar of the core issue (README, "Results on the shared traces"); on
the Azure trace ``rikugame`` is not worse than ``vpa`` on CPU alloc and deficit.

Reference figures (issue "Decision core, recommenders, and the trace-replay backtest"), measured
independently on ../shared/data/bitbrains_rnd with 1 h recompute, 24 h warm-up, memory limit = request.
"""

import os
from pathlib import Path

import pytest

from rikugame.sim import profiles, replaying, scoring
from rikugame.sources import traces

DATA = Path(os.environ.get("RIKUGAME_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
BITBRAINS = DATA / "bitbrains_rnd"

REFERENCE = {
    "vpa": {"cpu_alloc_ratio": 2.56, "cpu_deficit_ratio": 0.0295, "cpu_over_request_ratio": 0.0179,
            "memory_alloc_ratio": 6.37, "oom_free_entity_days_ratio": 0.918},
    "krr-simple": {"cpu_alloc_ratio": 2.67, "cpu_deficit_ratio": 0.0226, "cpu_over_request_ratio": 0.0419,
                   "memory_alloc_ratio": 8.56, "oom_free_entity_days_ratio": 0.974},
}
P99_CHANGES = {"vpa": 9, "krr-simple": 2}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not BITBRAINS.exists(), reason=f"shared trace not found at {BITBRAINS} (set RIKUGAME_DATA)"),
]


@pytest.fixture(scope="module")
def bitbrains():
    return traces.load_trace(BITBRAINS)


def scores_of(trace, name):
    return scoring.score(trace, replaying.replay(trace, profiles.backtest_spec(name))).as_dict()


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_peer_emulation_reproduces_the_reference_row(bitbrains, name):
    scores = scores_of(bitbrains, name)
    for key, expected in REFERENCE[name].items():
        assert scores[key] == pytest.approx(expected, rel=0.03), key
    assert scores["changes_per_entity_day_p99"] == pytest.approx(P99_CHANGES[name], abs=0.5)


def test_rikugame_meets_the_cpu_and_memory_bars(bitbrains):
    s = scores_of(bitbrains, "rikugame")
    vpa, krr = REFERENCE["vpa"], REFERENCE["krr-simple"]
    assert s["cpu_alloc_ratio"] <= vpa["cpu_alloc_ratio"]
    assert s["cpu_deficit_ratio"] <= vpa["cpu_deficit_ratio"]
    assert s["cpu_over_request_ratio"] <= vpa["cpu_over_request_ratio"]
    assert s["changes_per_entity_day_p99"] <= 7  # CPU and memory together
    # Memory (issue 13): at most 7.3x with at least 97.4 % OOM-free entity-days, cheaper than KRR.
    assert s["memory_alloc_ratio"] <= 7.3 and s["oom_free_entity_days_ratio"] >= 0.974
    assert s["memory_alloc_ratio"] < krr["memory_alloc_ratio"]


AZURE = DATA / "azure_v1_cpu"


@pytest.mark.skipif(not AZURE.exists(), reason=f"shared trace not found at {AZURE} (set RIKUGAME_DATA)")
def test_rikugame_is_not_worse_than_vpa_on_azure_cpu():
    azure = traces.load_trace(AZURE)
    s, vpa = scores_of(azure, "rikugame"), scores_of(azure, "vpa")
    assert s["cpu_alloc_ratio"] <= vpa["cpu_alloc_ratio"]
    assert s["cpu_deficit_ratio"] <= vpa["cpu_deficit_ratio"]
