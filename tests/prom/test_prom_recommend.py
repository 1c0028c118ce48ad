"""``rikugame recommend`` against a real Prometheus loaded with replayed history (the ``prom`` tier)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import promdata
import pytest
import yaml
from prom_env import END, MIB, PromServer
from typer.testing import CliRunner

from rikugame.cli import app
from rikugame.commands.recommend_pipeline import ReportOptions, build_report, report_spec
from rikugame.core.samples import UsageSamples
from rikugame.core.tuning import VerticalTuning
from rikugame.errors import PrometheusError
from rikugame.report.recommend_report import Report
from rikugame.sources.prometheus import PrometheusClient, PrometheusSettings
from rikugame.sources.promql import Scope

pytestmark = pytest.mark.prom
HISTORY = 3 * 86400


def run_report(server: PromServer, **kw: Any) -> Report:
    settings = PrometheusSettings(server.url)
    options = ReportOptions(end=server.end, history_seconds=HISTORY, **kw)
    return asyncio.run(build_report(settings, Scope(), options))


def by_workload(report: Report) -> dict[str, Any]:
    return {f"{r.namespace}/{r.workload}": r for r in report.rows}


def test_krr_simple_matches_krr_definition_computed_from_the_data(prometheus: PromServer) -> None:
    """Per workload: CPU = max over pods of each pod's P95 of the 75 s rate at a 75 s step (KRR master's
    defaults), memory = max × 1.15."""
    report = run_report(prometheus, recommender="krr-simple")
    assert report.step_seconds == 75
    reference = promdata.krr_reference(prometheus.pods, end=END, history_seconds=HISTORY)
    rows = by_workload(report)
    assert set(rows) == {f"{ns}/{w}" for ns, w in reference}
    assert report.path == "summary"
    for (ns, workload), ref in reference.items():
        row = rows[f"{ns}/{workload}"]
        if workload == "fresh":
            continue
        assert ref is not None
        cpu_m, mem_b = ref
        assert row.sufficient, workload
        assert abs(row.cpu_request_recommended - cpu_m) <= 1, (workload, row.cpu_request_recommended, cpu_m)
        ours_mib = -(-row.memory_request_recommended // MIB)
        assert abs(ours_mib - mem_b // MIB) <= 1, (workload, ours_mib, mem_b // MIB)
        assert row.memory_limit_recommended == row.memory_request_recommended  # memory limit = request
    # Two pods replaying different windows: the workload takes the larger pod's P95, not the pooled one.
    web = [p for p in prometheus.pods if p.workload == "web"]
    per_pod = [promdata.krr_reference([p], end=END, history_seconds=HISTORY)[("shop", "web")] for p in web]
    per_pod_cpu = [ref[0] for ref in per_pod if ref is not None]
    assert rows["shop/web"].cpu_request_recommended in range(max(per_pod_cpu) - 1, max(per_pod_cpu) + 2)


def test_counter_restarts_and_gaps_do_not_distort_cpu(prometheus: PromServer) -> None:
    report = run_report(prometheus, recommender="krr-simple")
    worker = by_workload(report)["batch/worker"]
    pod = next(p for p in prometheus.pods if p.workload == "worker")
    true_max = float(np.nanmax(pod.cpu_cores))
    # A reset read as a huge negative/positive jump would push the P95 far above any real usage.
    assert 10 <= worker.cpu_request_recommended <= int(true_max * 1000) + 1
    assert worker.history_seconds > 2.9 * 86400  # the 5-hour gap does not shorten the span
    assert any("OOM" in n for n in worker.notes)


def test_discovery_finds_ended_pods_and_takes_the_newest_settings(prometheus_turnover: PromServer) -> None:
    rows = by_workload(run_report(prometheus_turnover, recommender="krr-simple"))
    assert set(rows) == {"ops/gone", "ops/rolled"}
    gone = rows["ops/gone"]  # its only pod ended two days ago: found, settings from an older span
    assert (gone.cpu_request, gone.memory_request, gone.memory_limit) == (300, 768 * MIB, 768 * MIB)
    assert gone.pods == 0 and "no running pod at the end of the window" in gone.notes
    assert any("stale-metrics" in n for n in gone.notes)  # nothing lowered on a two-day-old sample
    assert gone.cpu_request_recommended >= 300 and gone.memory_request_recommended >= 768 * MIB
    rolled = rows["ops/rolled"]  # the new pod's settings, not the old pod's larger ones
    assert (rolled.cpu_request, rolled.memory_request, rolled.pods) == (250, 512 * MIB, 1)
    assert rolled.history_seconds > 2.9 * 86400  # both pods' usage counts


def test_hpa_on_cpu_is_noted(prometheus: PromServer) -> None:
    rows = by_workload(run_report(prometheus, recommender="krr-simple"))
    assert any("HPA on cpu" in n for n in rows["shop/api"].notes)
    assert not any("HPA" in n for n in rows["shop/web"].notes)


def test_too_little_history_gives_no_recommendation(prometheus: PromServer) -> None:
    fresh = by_workload(run_report(prometheus, recommender="krr-simple"))["batch/fresh"]
    assert not fresh.sufficient
    assert fresh.severity == "UNKNOWN"
    assert (fresh.cpu_request_recommended, fresh.memory_request_recommended) == (200, 1 << 30)
    assert any("too little history" in n for n in fresh.notes)


def test_samples_path_equals_the_core_run_directly_on_the_trace(prometheus: PromServer) -> None:
    """vpa needs every sample: the streamed report equals VerticalTuning fed the same samples directly (memory
    at full resolution too; hourly memory maxima: test_prom_memory.py)."""
    step = 300
    report = run_report(prometheus, recommender="vpa", step_seconds=step, hourly_memory=False)
    assert report.path == "samples"
    rows = by_workload(report)
    keys = sorted({(p.namespace, p.workload) for p in prometheus.pods})
    index = {k: i for i, k in enumerate(keys)}
    evals = np.arange(-(-(END - HISTORY) // step) * step, END + 1, step)
    parts = []
    for p in prometheus.pods:
        ts = p.sample_times()
        cpu = promdata.prometheus_rate(ts, p.cpu_counter(), evals, 300)
        mem = np.full(len(evals), np.nan)
        for i, t in enumerate(evals):
            window = (ts >= t - step) & (ts <= t) & ~np.isnan(p.memory_bytes)
            if window.any():
                mem[i] = p.memory_bytes[window].max()
        ok = ~(np.isnan(cpu) & np.isnan(mem))
        parts.append((np.full(ok.sum(), index[(p.namespace, p.workload)]), evals[ok], cpu[ok], mem[ok]))
    rows_a = np.concatenate([q[0] for q in parts])
    ts_a = np.concatenate([q[1] for q in parts])
    order = np.lexsort((ts_a, rows_a))
    samples = UsageSamples.of(rows_a[order], ts_a[order], np.concatenate([q[2] for q in parts])[order],
                              np.concatenate([q[3] for q in parts])[order])
    tuning = VerticalTuning(len(keys), report_spec("vpa"))
    tuning.observe(samples)
    oom = [p for p in prometheus.pods if p.oom_minute is not None]
    current_cpu = np.array([rows[f"{ns}/{w}"].cpu_request for ns, w in keys], dtype=np.int64)
    current_mem = np.array([rows[f"{ns}/{w}"].memory_request for ns, w in keys], dtype=np.int64)
    tuning.set_current(current_cpu, current_mem)
    assert oom, "the fixture has an OOM kill"
    # OOM: the kill enters at the container's memory limit, first seen on the report's 5-minute grid.
    for p in oom:
        first_seen = (p.start + 60 * (p.oom_minute or 0) + 299) // 300 * 300
        tuning.record_oom(np.array([index[(p.namespace, p.workload)]]), np.array([first_seen]),
                          np.array([float(p.memory_limit_bytes or 0)]))
    decisions = tuning.decide(END)
    for (ns, w), i in index.items():
        row = rows[f"{ns}/{w}"]
        assert row.cpu_request_recommended == decisions.cpu.decided[i], (w, "cpu")
        assert row.memory_request_recommended == decisions.memory.decided[i], (w, "memory")


class _Proxy(BaseHTTPRequestHandler):
    """Forwards to the real Prometheus; records method, path and headers; enforces auth if asked."""

    upstream = ""
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []
    require: str | None = None

    def do_POST(self) -> None:
        self._forward()

    def do_GET(self) -> None:
        self._forward()

    def _forward(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        type(self).seen.append((self.command, self.path, headers))
        if self.require is not None and headers.get("authorization") != self.require:
            self.send_response(401)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"Unauthorized\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if self.command == "POST" else None
        req = urllib.request.Request(self.upstream + self.path, data=body, method=self.command,
                                     headers={"Content-Type": self.headers.get("Content-Type", "")})
        with urllib.request.urlopen(req) as resp:
            payload = resp.read()
            self.send_response(resp.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(prometheus: PromServer) -> Iterator[type[_Proxy]]:
    handler = type("Proxy", (_Proxy,), {"upstream": prometheus.url, "seen": [], "require": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_cli_posts_queries_with_bearer_token_and_custom_headers(proxy: type[_Proxy]) -> None:
    proxy.require = "Bearer s3cret"
    result = CliRunner().invoke(app, [
        "recommend", "-p", proxy.url, "--end", str(END), "--history", "3d",  # type: ignore[attr-defined]
        "--token", "s3cret", "-H", "X-Scope-OrgID: tenant-a", "--format", "json", "-n", "shop"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {r["workload"] for r in doc["rows"]} == {"web", "api", "db"}
    assert proxy.seen
    assert all(method == "POST" for method, _, _ in proxy.seen)
    assert all(h.get("x-scope-orgid") == "tenant-a" for _, _, h in proxy.seen)
    assert {path for _, path, _ in proxy.seen} == {"/api/v1/query", "/api/v1/series"}  # rikugame: subqueries


def test_cli_basic_auth_and_refused_credentials(proxy: type[_Proxy]) -> None:
    proxy.require = "Basic " + base64.b64encode(b"ops:pw").decode()
    ok = CliRunner().invoke(app, ["recommend", "-p", proxy.url, "--end", str(END),  # type: ignore[attr-defined]
                                  "--history", "3d", "--user", "ops:pw", "--format", "csv"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines()[0].startswith("cluster,namespace,kind,workload,container")
    bad = CliRunner().invoke(app, ["recommend", "-p", proxy.url, "--end", str(END),  # type: ignore[attr-defined]
                                   "--history", "3d", "--user", "ops:wrong"])
    assert bad.exit_code == 2
    assert "refused the credentials (HTTP 401" in bad.output


def test_prometheus_down_is_one_clear_error_with_exit_code() -> None:
    # A port we hold bound but never listen on: connections are refused, and no one else can take it.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        result = CliRunner().invoke(app, ["recommend", "-p", url, "--end", str(END), "--history", "3d",
                                          "--retries", "1"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert f"cannot reach Prometheus at {url}" in result.output
    assert "Traceback" not in result.output


def test_bad_promql_is_a_clear_error_without_retries(prometheus: PromServer) -> None:
    async def go() -> PrometheusClient:
        async with PrometheusClient(PrometheusSettings(prometheus.url)) as prom:
            with pytest.raises(PrometheusError, match=r"rejected the query \(HTTP 400: bad_data"):
                await prom.query("sum(rate(container_cpu_usage_seconds_total[5m]", END)
            return prom

    prom = asyncio.run(go())
    assert prom.stats.retries == 0


def test_formats_and_patches(prometheus: PromServer, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["recommend", "-p", prometheus.url, "--end", "2026-01-01T00:00:00Z", "--history", "3d", "-r",
            "krr-simple"]  # KRR's 3-hour minimum: the 2-hour "fresh" workload gets no recommendation
    table = runner.invoke(app, base, env={"COLUMNS": "120"})
    assert table.exit_code == 0, table.output
    assert "shop" in table.stdout and "saving" in table.stdout
    assert "too little history" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 200
    for fmt in ("yaml", "html"):
        out = tmp_path / f"report.{fmt}"
        res = runner.invoke(app, [*base, "--format", fmt, "--output", str(out),
                                  "--emit-patches", str(tmp_path / "patches")])
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 500
    doc = yaml.safe_load((tmp_path / "report.yaml").read_text())
    assert doc["report"]["recommender"] == "krr-simple"
    kustomization = yaml.safe_load((tmp_path / "patches" / "kustomization.yaml").read_text())
    files = [p["path"] for p in kustomization["patches"]]
    assert "shop-statefulset-db.yaml" in files
    assert not any("fresh" in f for f in files)  # no recommendation, no patch
    patch = yaml.safe_load((tmp_path / "patches" / "shop-deployment-web.yaml").read_text())
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "app"
    assert container["resources"]["requests"]["cpu"].endswith("m")
    bad = runner.invoke(app, [*base, "--format", "xml"])
    assert bad.exit_code == 2 and "--format" in bad.output


def test_the_default_recommender_is_the_operators(prometheus: PromServer) -> None:
    result = CliRunner().invoke(app, ["recommend", "-p", prometheus.url, "--end", str(END), "--history", "3d",
                                      "-n", "shop", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["report"]
    assert (doc["recommender"], doc["stepSeconds"]) == ("rikugame", 300)


def test_policy_applies_the_operators_guardrails(prometheus: PromServer, tmp_path: Path) -> None:
    """With a Tuner spec the report shows what the operator would do next: its recommender, its step limit."""
    policy = tmp_path / "tuner.yaml"
    policy.write_text("spec:\n  targetRef: {name: db}\n  recommender: vpa\n  vertical: {scaleDownMaxRatio: 0.2}\n")
    result = CliRunner().invoke(app, ["recommend", "-p", prometheus.url, "--end", str(END), "--history", "3d",
                                      "--policy", str(policy), "-n", "shop", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["report"]["recommender"] == "vpa"
    db = next(r for r in doc["rows"] if r["workload"] == "db")
    assert db["cpuRequestRecommendedMillicores"] == 1600  # 2 cores, at most -20 % per step
    assert "SCALE_DOWN_STEP_LIMIT" in db["cpuReasons"]


# Memory per recommender against the raw series, across batchings, chunkings and arrival orders:
# test_prom_memory.py (it replaces the one-pod-per-query check of issue 10).


def test_rikugame_memory_is_the_raw_time_of_day_peak_plus_headroom(prometheus: PromServer) -> None:
    """Against an independent reference from the raw series (not the core): over the workload's pods, the
    hourly maxima give min(max(max at ±2 h of END's time of day, max over the last 24 h), max over 7 days),
    plus min(1Gi, that), within 1 % (docs/memory.md)."""
    rows = by_workload(run_report(prometheus, recommender="rikugame"))
    start = END - HISTORY - 60  # the first 60 s step reads the minute before the window
    for key, row in rows.items():
        ns, workload = key.split("/")
        pods = [p for p in prometheus.pods if (p.namespace, p.workload) == (ns, workload)]
        if not row.sufficient or any(p.oom_minute is not None for p in pods):
            continue
        tod = recent = week = 0.0
        for p in pods:
            t = p.sample_times()
            keep = (t > start) & (t <= END) & np.isfinite(p.memory_bytes)
            age = END // 3600 - t[keep] // 3600  # hours between the sample's hour and END's
            mem = p.memory_bytes[keep]
            near = np.isin(age % 24, (0, 1, 2, 22, 23)) & (age <= 14 * 24 + 2)
            tod = max(tod, float(np.max(mem[near], initial=0.0)))
            recent = max(recent, float(np.max(mem[age <= 24], initial=0.0)))
            week = max(week, float(np.max(mem[age <= 7 * 24], initial=0.0)))
        base = min(max(tod, recent), week)
        if base <= 0:
            continue
        reference = base + min(1024 * MIB, base)
        assert abs(row.memory_request_recommended - reference) <= 0.01 * reference, (key, row, reference)
