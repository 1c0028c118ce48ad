"""A backtest that restarts every tuning from its JSON checkpoint every 5 h exports the same request
timeline, byte for byte, as one that never restarts — for every registered recommender (issue 10)."""

import os
from pathlib import Path

import pytest

from rikugame.commands.backtest import export_requests_file
from rikugame.core import recommenders
from rikugame.sim import profiles, replaying
from rikugame.sources import traces

DATA = Path(os.environ.get("RIKUGAME_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
BITBRAINS = DATA / "bitbrains_rnd"
FIVE_HOURS = 5 * 3600

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not BITBRAINS.exists(), reason=f"shared trace not found at {BITBRAINS} (set RIKUGAME_DATA)"),
]


@pytest.fixture(scope="module")
def first_50():
    return traces.load_trace(BITBRAINS, max_entities=50)


@pytest.mark.parametrize("name", recommenders.names())
def test_restart_every_5h_exports_a_byte_identical_request_timeline(first_50, name, tmp_path):
    spec = profiles.backtest_spec(name)
    plain = replaying.replay(first_50, spec)
    restarted = replaying.replay(first_50, spec, restart_every_seconds=FIVE_HOURS)
    export_requests_file(first_50, plain, tmp_path / "plain.parquet")
    export_requests_file(first_50, restarted, tmp_path / "restarted.parquet")
    assert (tmp_path / "plain.parquet").read_bytes() == (tmp_path / "restarted.parquet").read_bytes()
    sizes = restarted.checkpoints
    assert sizes is not None and sizes.restarts > 100
    if name == "rikugame":  # the target for the default recommender after 28 days
        assert sizes.max_bytes_per_container <= 16 * 1024


def test_restarts_with_oom_feedback_export_the_same_timeline_with_the_resizes_at_kills(first_50, tmp_path):
    """With --oom-feedback the resizes decided at kills (inside a period) survive restarts unchanged too."""
    spec = profiles.backtest_spec("rikugame")
    plain = replaying.replay(first_50, spec, oom_feedback=True)
    restarted = replaying.replay(first_50, spec, oom_feedback=True, restart_every_seconds=FIVE_HOURS)
    assert plain.kill_decisions is not None and len(plain.kill_decisions.rows) > 0
    export_requests_file(first_50, plain, tmp_path / "plain.parquet")
    export_requests_file(first_50, restarted, tmp_path / "restarted.parquet")
    assert (tmp_path / "plain.parquet").read_bytes() == (tmp_path / "restarted.parquet").read_bytes()
