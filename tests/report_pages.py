"""Small inputs for the three HTML pages (backtest, HPA backtest, recommend), built through the real CLI
(backtest, traffic) or the real renderer (recommend, whose input is Prometheus): shared by the page tests
in ``unit/report`` and the Chromium checks in ``browser``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from rikugame.cli import app
from rikugame.core.guardrails import Reason
from rikugame.report import formats
from rikugame.report.recommend_report import Report, ReportRow

T0 = 1_372_636_800  # 2013-07-01 00:00 UTC
GIB = 2**30


def usage_trace(path: Path, *, days: int = 5, entities: int = 3, step: int = 300) -> Path:
    """VMs with a daily CPU cycle, a memory spike on day 3 for vm-0, and a 6-hour gap in vm-1."""
    rows: dict[str, list] = {"timestamp": [], "entity": [], "cpu_cores": [], "memory_bytes": []}
    n = days * 86400 // step
    for e in range(entities):
        for i in range(n):
            t = T0 + i * step
            if e == 1 and 2 * 86400 <= i * step < 2 * 86400 + 6 * 3600:
                continue  # the gap
            day = i * step / 86400
            rows["timestamp"].append(t)
            rows["entity"].append(f"vm-{e}")
            rows["cpu_cores"].append(round(0.4 * (e + 1) * (1.2 + np.sin(2 * np.pi * day)) + 0.05 * (i % 5), 4))
            spike = 3.0 if e == 0 and 3.0 <= day < 3.1 else 1.0
            rows["memory_bytes"].append(int(GIB * (e + 1) * spike * (1 + 0.1 * np.cos(i / 13))))
    pq.write_table(pa.table(rows), path)
    return path


def traffic_trace(path: Path, days: float = 8) -> Path:
    minutes = int(days * 1440)
    t0 = 804_556_800  # 1995-07-01 00:00 UTC
    pq.write_table(pa.table({
        "timestamp": [t0 + 60 * i for i in range(minutes)],
        "requests": [float(round(40 + 30 * np.sin(i / 1440 * 2 * np.pi) + (i % 7), 1)) for i in range(minutes)]}),
        path)
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stderr


def backtest_page(directory: Path) -> Path:
    out = directory / "backtest.html"
    run("backtest", "--data", str(usage_trace(directory / "usage.parquet")), "-r", "vpa", "-r", "rikugame",
        "-r", "krr-simple", "-f", "html", "-o", str(out))
    return out


def traffic_page(directory: Path) -> Path:
    out = directory / "hpa.html"
    run("backtest", "--traffic", str(traffic_trace(directory / "traffic.parquet")), "-r", "static-80", "-r",
        "tortoise", "-r", "rikugame", "--load-scale", "20", "-f", "html", "-o", str(out))
    return out


def sample_report() -> Report:
    def row(workload: str, container: str, cpu: int, cpu_rec: int, mem: int, mem_rec: int, saving: float,
            severity: str, sufficient: bool = True) -> ReportRow:
        return ReportRow(cluster="", namespace="shop", kind="Deployment", workload=workload, container=container,
                         pods=2, cpu_request=cpu, cpu_request_recommended=cpu_rec, cpu_limit=-1,
                         cpu_limit_recommended=-1, memory_request=mem, memory_request_recommended=mem_rec,
                         memory_limit=mem, memory_limit_recommended=mem_rec, sufficient=sufficient,
                         history_seconds=86400.0 * 14 if sufficient else 3600.0, severity=severity,
                         monthly_saving=saving if sufficient else 0.0, cpu_reasons=Reason.RECOMMENDED.describe(),
                         memory_reasons=["RECOMMENDED"],
                         notes=[] if sufficient else ["too little history: 1 h of 3 h"])

    return Report(rows=[row("web", "app", 1000, 250, 2 * GIB, GIB, 43.2, "CRITICAL"),
                        row("web", "sidecar", 100, 100, 128 * 2**20, 128 * 2**20, 0.0, "GOOD"),
                        row("api", "app", 200, 450, GIB, 3 * GIB // 2, -15.8, "WARNING"),
                        row("db", "postgres", 500, 500, 4 * GIB, 4 * GIB, 0.0, "UNKNOWN", sufficient=False)],
                  recommender="krr-simple", end=1767225600, history_seconds=14 * 86400, step_seconds=60,
                  cpu_explanation="P95 of the 5-minute rate", memory_explanation="max × 1.15", cpu_price=0.0316,
                  memory_price=0.0042, queries=12, elapsed_seconds=1.5, path="summary",
                  stage_seconds={"discovery": 0.5}, response_bytes=12345)


def recommend_page(directory: Path) -> Path:
    out = directory / "recommend.html"
    out.write_text(formats.render(sample_report(), "html"), encoding="utf-8")
    return out


PAGES = {"backtest": backtest_page, "hpa": traffic_page, "recommend": recommend_page}
SUMMARY_WORDS = {"backtest": "would have", "hpa": "replica-hours", "recommend": "per month"}
