"""``recommend --export-trace``: cluster history → trace → ``backtest`` gives the report's decisions (issue 12).

The backtest decides at the start of every ``--recompute`` period on the samples *before* it, so its
decision at the window's end ``END`` has seen every exported sample up to ``END − step``: exactly what a
report with ``--end END−step`` (same first sample) sees. Both run the report's policy (``report_spec``:
no step limits), so the requests must be equal.

Compared: CPU and memory for ``vpa`` and ``tortoise`` (their decision depends on the history only);
memory for ``rikugame`` and ``krr-simple``. Not compared: ``rikugame``'s CPU (its model choice is charged
at every decision the backtest makes; a report makes one), ``krr-simple``'s CPU (the report's exact
per-pod P95 from Prometheus vs the backtest's 1 % histogram of the pooled samples), ``window`` (its
one-hour hold keeps the backtest's previous decision), and the OOM-killed workload (kills come from
kube-state-metrics, which a usage trace does not carry).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from prom_env import END, PromServer
from typer.testing import CliRunner

from rikugame.cli import app
from rikugame.commands.recommend_pipeline import report_spec
from rikugame.sim import profiles, replaying
from rikugame.sources.traces import load_trace

pytestmark = pytest.mark.prom
HISTORY = 3 * 86400
STEP = {"krr-simple": 75}  # krr-simple: KRR's step; its rate window is the step (half the 75 s points of a
DEFAULT_STEP = 60          # 60 s scrape hold two samples: the others are memory-only samples in the trace)


def report(server: PromServer, name: str, end: int, history: int, *extra: str) -> dict[str, dict]:
    step = STEP.get(name, DEFAULT_STEP)
    result = CliRunner().invoke(app, ["recommend", "-p", server.url, "--end", str(end), "--history",
                                      f"{history}s", "--step", f"{step}s", "-r", name, "--format", "json",
                                      *extra])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    return {f"{r['namespace']}/{r['kind']}/{r['workload']}/{r['container']}": r for r in doc["rows"]}


@pytest.mark.parametrize("name", ["vpa", "tortoise", "rikugame", "krr-simple"])
def test_exported_trace_replays_to_the_reports_decisions(prometheus: PromServer, tmp_path: Path,
                                                          name: str) -> None:
    trace_file = tmp_path / "cluster.parquet"
    full = report(prometheus, name, END, HISTORY, "--export-trace", str(trace_file))
    trace = load_trace(trace_file)
    assert set(trace.entities) == set(full)  # one entity per workload container of the report
    assert trace.timestamps.max() == END and trace.timestamps.min() >= END - HISTORY

    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(report_spec(name).model_dump(by_alias=True, exclude_none=True,
                                                                   mode="json")))
    replay = CliRunner().invoke(app, ["backtest", "--data", str(trace_file), "-r", name, "--policy",
                                      str(policy), "--recompute", "1h", "--warmup", "0", "--format", "json"])
    assert replay.exit_code == 0, replay.output
    assert json.loads(replay.stdout)["recommenders"][name]["entities"] == len(full)
    # The decision the backtest takes at END (its export lists only the periods an entity has samples in):
    # the same replay the command runs, with the same spec.
    spec = profiles.backtest_spec(name, yaml.safe_load(policy.read_text()))
    replayed = replaying.replay(trace, spec, recompute_seconds=3600)
    assert replayed.period_starts[-1] == END
    last = {e: (int(replayed.cpu_request_millicores[-1, i]), int(replayed.memory_request_bytes[-1, i]))
            for i, e in enumerate(trace.entities)}

    step = STEP.get(name, DEFAULT_STEP)
    before = report(prometheus, name, END - step, HISTORY - step)
    compared = 0
    for entity, row in before.items():
        if not row["sufficient"] or any("OOM" in n for n in row["notes"]):
            continue
        cpu, memory = last[entity]
        assert memory == row["memoryRequestRecommendedBytes"], (entity, "memory")
        if name in ("vpa", "tortoise"):
            assert cpu == row["cpuRequestRecommendedMillicores"], (entity, "cpu")
        compared += 1
    assert compared >= 4
