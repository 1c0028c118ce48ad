"""``--restart-every`` on a NASA-HTTP slice: checkpointing and rebuilding every tuning changes no HPA setting."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rikugame.commands import traffic as traffic_command

REPO = Path(__file__).resolve().parents[3]
NASA = Path(os.environ.get("RIKUGAME_DATA", REPO.parent / "shared" / "data")) / "nasa_http_1995" / (
    "requests_1min.parquet")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not NASA.exists(), reason=f"NASA trace not found at {NASA} (set RIKUGAME_DATA)")]


def _backtest(trace: Path, export: Path, *extra: str) -> dict:
    from rikugame.cli import app

    result = CliRunner().invoke(app, ["backtest", "--traffic", str(trace), "--load-scale", "1000",
                                      "--load-scale", "100", "--format", "json", "--export-hpa", str(export),
                                      *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_restarting_every_five_hours_exports_the_same_hpa_timeline(tmp_path: Path) -> None:
    trace = tmp_path / "nasa10d.parquet"
    pq.write_table(pq.read_table(NASA).slice(0, 10 * 1440), trace)  # 7 days' warm-up, 3 scored (3 refits)
    plain_doc = _backtest(trace, tmp_path / "plain.parquet")
    restarted_doc = _backtest(trace, tmp_path / "restarted.parquet", "--restart-every", "5h")
    plain = pq.read_table(tmp_path / "plain.parquet").to_pylist()
    restarted = pq.read_table(tmp_path / "restarted.parquet").to_pylist()
    assert restarted == plain
    assert {r["policy"] for r in plain} == set(traffic_command.POLICIES)
    assert sum(r["policy"] == "rikugame" for r in plain) > 10  # the floor moved: the fits were exercised
    assert restarted_doc["policies"] == plain_doc["policies"]
    sizes = restarted_doc["checkpointBytes"]
    assert set(sizes) == set(traffic_command.POLICIES)
    for name, row in sizes.items():
        assert row["checkpoints"] == 10 * 24 // 5 - 1, name  # 5 h, 10 h, … 235 h (the last minute is 239 h)
        assert 0 < row["mean"] <= row["max"] <= 32 * 1024, name
    assert "checkpointBytes" not in plain_doc
