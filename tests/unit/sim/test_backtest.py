"""The backtest: trace loading, replay without look-ahead, scoring, export contract, CLI errors."""

import itertools
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rikugame.cli import app
from rikugame.errors import InputError
from rikugame.sim import profiles, replaying, scoring
from rikugame.sources import traces

T0 = 1_372_636_800  # 2013-07-01 00:00 UTC
HOUR = 3600
GIB = 2**30
runner = CliRunner()


def write_trace(path, *, entities=2, hours=72, spike_hour=None):
    rows = []
    for e in range(entities):
        for i in range(hours * 12):
            t = T0 + i * 300
            cpu = 0.5 * (e + 1)
            mem = GIB * (e + 1)
            if spike_hour is not None and i // 12 == spike_hour:
                mem *= 3
            rows.append((t, f"vm-{e}", cpu, mem))
    ts, ent, cpu, mem = zip(*rows, strict=True)
    pq.write_table(pa.table({"timestamp": ts, "entity": ent, "cpu_cores": cpu, "memory_bytes": mem}), path)
    return path


def test_trace_loader_sorts_and_drops_rows_without_cpu(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("timestamp,entity,cpu_cores,memory_bytes\n20,b,1,5\n10,b,,5\n10,a,2,6\n5,b,3,7\n")
    trace = traces.load_trace(path)
    assert trace.entities == ["a", "b"]
    assert list(trace.rows) == [0, 1, 1]
    assert list(trace.timestamps) == [10, 5, 20]
    assert trace.num_samples == 3


def test_azure_percent_is_read_as_cores_of_a_one_core_vm(tmp_path):
    path = tmp_path / "azure.parquet"
    pq.write_table(pa.table({"timestamp": [0, 300], "entity": ["x", "x"], "cpu_percent_avg": [50.0, 25.0]}), path)
    trace = traces.load_trace(path)
    assert list(trace.cpu_cores) == [0.5, 0.25]
    assert not trace.has_memory


@pytest.mark.parametrize(("content", "message"), [
    pytest.param("timestamp,entity\n1,a\n", "lacks column", id="missing-column"),
    pytest.param("timestamp,entity,cpu_cores\n", "no rows", id="empty"),
])
def test_bad_traces_raise_a_clear_input_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        traces.load_trace(path)


def test_missing_trace_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        traces.load_trace(tmp_path / "nope.parquet")


def test_replay_never_sees_the_future(tmp_path):
    """A memory spike in hour 40 cannot raise the request of hour 40 itself, only later hours."""
    trace = traces.load_trace(write_trace(tmp_path / "t.parquet", entities=1, spike_hour=40))
    result = replaying.replay(trace, profiles.backtest_spec("krr-simple"))
    mem = result.memory_request_bytes[:, 0]
    assert mem[40] < 2 * GIB
    assert mem[41] >= 3 * GIB
    assert result.oom_kills >= 12  # every sample of the spike hour was over the limit


def test_scores_count_exposures_and_alloc(tmp_path):
    trace = traces.load_trace(write_trace(tmp_path / "t.parquet", entities=1, spike_hour=40))
    result = replaying.replay(trace, profiles.backtest_spec("krr-simple"))
    s = scoring.score(trace, result)
    assert s.entities == 1 and s.entity_days == 2
    assert s.oom_free_entity_days_ratio == pytest.approx(0.5)  # the spike day had exposures
    assert s.cpu_over_request_ratio == 0.0
    assert 1.0 <= s.cpu_alloc_ratio < 1.1  # constant usage: P95 of a constant, 1m rounding
    assert s.memory_alloc_ratio > 1.15


def test_warmup_samples_are_not_scored(tmp_path):
    trace = traces.load_trace(write_trace(tmp_path / "t.parquet", entities=1, hours=48))
    result = replaying.replay(trace, profiles.backtest_spec("vpa"))
    assert scoring.score(trace, result, warmup_seconds=86400).scored_samples == 24 * 12
    assert scoring.score(trace, result, warmup_seconds=0).scored_samples == 48 * 12


def test_oom_feedback_bumps_memory_after_an_exposure(tmp_path):
    trace = traces.load_trace(write_trace(tmp_path / "t.parquet", entities=1, spike_hour=40))
    spec = profiles.backtest_spec("rikugame")
    off = replaying.replay(trace, spec)
    on = replaying.replay(trace, spec, oom_feedback=True)
    assert on.memory_request_bytes[41, 0] >= off.memory_request_bytes[41, 0]
    assert on.memory_request_bytes[41, 0] >= int(3 * GIB * 1.2)


def test_oom_feedback_reacts_at_the_kill_not_at_the_next_period(tmp_path):
    """The spike's first sample is a kill; the resize decided at that sample's time covers the rest of the
    hour, so one kill instead of twelve, and the export has a row at the kill."""
    data = write_trace(tmp_path / "t.parquet", entities=1, spike_hour=40)
    trace = traces.load_trace(data)
    spec = profiles.backtest_spec("rikugame")
    off = replaying.replay(trace, spec)
    on = replaying.replay(trace, spec, oom_feedback=True)
    # The first hour runs on the 32Mi floor (no history yet): 12 kills there too without feedback, 1 with.
    assert off.oom_kills == 24 and on.oom_kills == 2
    kd = on.kill_decisions
    assert kd is not None and list(kd.timestamps) == [T0, T0 + 40 * HOUR]
    assert kd.memory_limit_bytes[1] >= int(3 * GIB * 1.2)
    _, _, limit = on.sample_requests(trace.rows)
    spike = (trace.timestamps >= T0 + 40 * HOUR) & (trace.timestamps < T0 + 41 * HOUR)
    assert (limit[spike][1:] >= 3 * GIB * 1.2).all() and limit[spike][0] < 3 * GIB
    s_off, s_on = scoring.score(trace, off), scoring.score(trace, on)
    assert s_off.oom_kills_per_1000_entity_days == pytest.approx(12 * 1000 / 2)  # after the 24 h warm-up
    assert s_on.oom_kills_per_1000_entity_days == pytest.approx(1 * 1000 / 2)
    export = tmp_path / "req.parquet"
    result = runner.invoke(app, ["backtest", "--data", str(data), "-r", "rikugame", "--oom-feedback",
                                 "--format", "json", "--export-requests", str(export)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recommenders"]["rikugame"]["oomKillsPer1000EntityDays"] == 500.0
    assert T0 + 40 * HOUR in pq.read_table(export).column("timestamp").to_pylist()


def test_cli_backtest_json_and_export_contract(tmp_path):
    data = write_trace(tmp_path / "t.parquet")
    export = tmp_path / "req.parquet"
    result = runner.invoke(app, ["backtest", "--data", str(data), "-r", "vpa", "--format", "json",
                                 "--export-requests", str(export)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload["recommenders"]) == {"vpa"}
    assert payload["recommenders"]["vpa"]["entities"] == 2
    table = pq.read_table(export)
    assert table.schema.field("entity").type == pa.string()
    assert table.schema.field("timestamp").type == pa.int64()
    assert table.schema.field("cpu_request_cores").type == pa.float64()
    assert table.schema.field("memory_request_bytes").type == pa.int64()
    assert table.schema.field("memory_limit_bytes").type == pa.int64()
    frame = table.to_pydict()
    assert set(frame["entity"]) == {"vm-0", "vm-1"}
    # One row per change: consecutive rows of an entity differ.
    for entity in ("vm-0", "vm-1"):
        idx = [i for i, e in enumerate(frame["entity"]) if e == entity]
        pairs = [(frame["cpu_request_cores"][i], frame["memory_request_bytes"][i]) for i in idx]
        assert all(a != b for a, b in itertools.pairwise(pairs))
        assert frame["timestamp"][idx[0]] == T0


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["-r", "nope"], "unknown recommender", id="unknown-recommender"),
    pytest.param(["--recompute", "soon"], "--recompute", id="bad-duration"),
    pytest.param(["--format", "xml"], "--format", id="bad-format"),
])
def test_cli_bad_input_is_one_clear_line_and_exit_2(tmp_path, args, message):
    data = write_trace(tmp_path / "t.parquet", hours=30)
    result = runner.invoke(app, ["backtest", "--data", str(data), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_missing_columns_exit_2(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,who\n1,a\n")
    result = runner.invoke(app, ["backtest", "--data", str(path)])
    assert result.exit_code == 2
    assert "lacks column" in result.output


def test_demo_writes_a_report_with_plots(tmp_path):
    out = tmp_path / "demo.html"
    result = runner.invoke(app, ["demo", "--output", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.count("<svg") >= 4
    for name in ("vpa", "krr-simple", "tortoise", "window", "rikugame"):
        assert name in html
        assert name in result.stdout
    assert np.isfinite(len(html))
