"""Rendering of the right-sizing report: table (rich), JSON, YAML, CSV, HTML, and kustomize patches."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from rikugame.core.quantities import format_cpu, format_memory
from rikugame.report.recommend_report import Report, ReportRow

FORMATS = ("table", "json", "yaml", "csv", "html")
MIB = 2**20
SHORT_KINDS = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "CronJob": "cronjob",
               "Job": "job", "ReplicaSet": "rs", "Rollout": "rollout"}
SEVERITY_STYLE = {"CRITICAL": "bold red", "WARNING": "yellow", "OK": "cyan", "GOOD": "green",
                  "UNKNOWN": "dim"}


def cpu_text(millicores: int) -> str:
    """``250m`` / ``2`` / ``none``."""
    return "none" if millicores < 0 else format_cpu(millicores)


def memory_text(num_bytes: int) -> str:
    """Bytes rounded up to a whole MiB (``512Mi``, ``2Gi``) / ``none``."""
    if num_bytes < 0:
        return "none"
    return format_memory(-(-num_bytes // MIB) * MIB)


def _change(current: str, recommended: str) -> str:
    return current if current == recommended else f"{current} → {recommended}"


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def header(report: Report) -> dict[str, Any]:
    """What produced the report (shared by every format)."""
    return {
        "recommender": report.recommender, "end": _when(report.end),
        "historyHours": round(report.history_seconds / 3600, 2), "stepSeconds": report.step_seconds,
        "cpu": report.cpu_explanation, "memory": report.memory_explanation,
        "cpuPricePerCoreHour": report.cpu_price, "memoryPricePerGiBHour": report.memory_price,
        "monthlySaving": round(report.total_saving(), 2), "queries": report.queries,
        "elapsedSeconds": round(report.elapsed_seconds, 3), "stageSeconds": report.stage_seconds,
        "path": report.path, "responseBytes": report.response_bytes,
    }


def row_data(row: ReportRow) -> dict[str, Any]:
    """One row as plain data with quantities as Kubernetes strings and raw integers."""
    data = row.as_dict()
    for key in ("cpu_request", "cpu_request_recommended", "cpu_limit", "cpu_limit_recommended"):
        data[key] = None if row.__getattribute__(key) < 0 else cpu_text(getattr(row, key))
        data[key + "_millicores"] = getattr(row, key)
    for key in ("memory_request", "memory_request_recommended", "memory_limit", "memory_limit_recommended"):
        data[key] = None if getattr(row, key) < 0 else memory_text(getattr(row, key))
        data[key + "_bytes"] = getattr(row, key)
    data["history_hours"] = round(row.history_seconds / 3600, 2)
    del data["history_seconds"]
    return data


def render(report: Report, fmt: str, *, width: int | None = None) -> str:
    """The report as text in ``fmt``."""
    if fmt == "json":
        doc = {"report": header(report), "rows": [row_data(r) for r in report.rows]}
        return json.dumps(doc, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump({"report": header(report), "rows": [row_data(r) for r in report.rows]},
                              sort_keys=False, allow_unicode=True)
    if fmt == "csv":
        return _csv(report)
    if fmt == "html":
        return _html(report)
    if fmt == "table":
        return _table(report, width)
    raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def _csv(report: Report) -> str:
    out = io.StringIO()
    rows = [row_data(r) for r in report.rows]
    fields = list(rows[0]) if rows else list(row_data.__annotations__)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ";".join(v) if isinstance(v, list) else ("" if v is None else v)
                         for k, v in r.items()})
    return out.getvalue()


def _table(report: Report, width: int | None) -> str:
    console = Console(width=width or 160, record=True, file=io.StringIO(), force_terminal=False)
    multi_cluster = any(r.cluster for r in report.rows)
    h = header(report)
    title = (f"rikugame recommend · {report.recommender} · {h['historyHours']:g} h to {h['end']} · "
             f"saving ≈ ${report.total_saving():,.0f}/month")
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False, show_lines=False)
    if multi_cluster:
        table.add_column("Cluster", overflow="fold")
    table.add_column("Namespace", overflow="fold")
    table.add_column("Workload", overflow="fold")
    table.add_column("Container", overflow="fold")
    table.add_column("Pods", justify="right")
    table.add_column("CPU req", overflow="fold")
    table.add_column("CPU lim", overflow="fold")
    table.add_column("Mem req", overflow="fold")
    table.add_column("Mem lim", overflow="fold")
    table.add_column("Severity")
    table.add_column("$/month", justify="right")
    table.add_column("History", justify="right")
    for r in report.rows:
        cells = [
            r.namespace, f"{SHORT_KINDS.get(r.kind, r.kind)}/{r.workload}", r.container or "?", str(r.pods),
            _change(cpu_text(r.cpu_request), cpu_text(r.cpu_request_recommended)),
            _change(cpu_text(r.cpu_limit), cpu_text(r.cpu_limit_recommended)),
            _change(memory_text(r.memory_request), memory_text(r.memory_request_recommended)),
            _change(memory_text(r.memory_limit), memory_text(r.memory_limit_recommended)),
            f"[{SEVERITY_STYLE[r.severity]}]{r.severity}[/]",
            f"{r.monthly_saving:,.2f}" if r.sufficient else "-",
            f"{r.history_seconds / 86400:.1f}d" + ("" if r.sufficient else " (too little)"),
        ]
        table.add_row(*([r.cluster] if multi_cluster else []), *cells)
    console.print(table)
    console.print(f"CPU: {report.cpu_explanation}. Memory: {report.memory_explanation}. "
                  f"Prices: ${report.cpu_price}/core-hour, ${report.memory_price}/GiB-hour "
                  f"(--cpu-price/--memory-price). {report.queries} queries in "
                  f"{report.elapsed_seconds:.1f} s.",
                  highlight=False)
    notes = [(r, n) for r in report.rows for n in r.notes]
    for r, note in notes[:20]:
        console.print(f"  {r.namespace}/{r.workload}/{r.container}: {note}", highlight=False)
    if len(notes) > 20:
        console.print(f"  … and {len(notes) - 20} more notes (see --format json)", highlight=False)
    return console.export_text()


def _html(report: Report) -> str:
    h = header(report)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in (
        "Namespace", "Workload", "Container", "Pods", "CPU request", "CPU limit", "Memory request",
        "Memory limit", "Severity", "$/month", "History", "Notes"))
    body = []
    for r in report.rows:
        cells = [r.namespace, f"{r.kind}/{r.workload}", r.container, str(r.pods),
                 _change(cpu_text(r.cpu_request), cpu_text(r.cpu_request_recommended)),
                 _change(cpu_text(r.cpu_limit), cpu_text(r.cpu_limit_recommended)),
                 _change(memory_text(r.memory_request), memory_text(r.memory_request_recommended)),
                 _change(memory_text(r.memory_limit), memory_text(r.memory_limit_recommended)),
                 r.severity, f"{r.monthly_saving:,.2f}" if r.sufficient else "-",
                 f"{r.history_seconds / 86400:.1f}d", "; ".join(r.notes)]
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        body.append(f'<tr class="{r.severity.lower()}">{tds}</tr>')
    meta = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in h.items())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>rikugame recommend</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}tr.critical td{{background:#fdd}}
tr.warning td{{background:#ffd}}tr.unknown td{{color:#888}}</style></head>
<body><h1>Right-sizing report</h1><ul>{meta}</ul>
<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></body></html>
"""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


API_VERSIONS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
                "ReplicaSet": "apps/v1", "CronJob": "batch/v1", "Job": "batch/v1",
                "Rollout": "argoproj.io/v1alpha1"}


def emit_patches(report: Report, directory: Path) -> list[Path]:
    """Kustomize-ready strategic-merge patches (one file per workload) plus a ``kustomization.yaml``
    listing them; only containers with a recommendation are included. Returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    by_workload: dict[tuple[str, str, str, str], list[ReportRow]] = {}
    for r in report.rows:
        if r.sufficient and r.container:
            by_workload.setdefault((r.cluster, r.namespace, r.kind, r.workload), []).append(r)
    written: list[Path] = []
    names: list[str] = []
    for (cluster, namespace, kind, workload), rows in sorted(by_workload.items()):
        containers = []
        for r in rows:
            requests = {"cpu": cpu_text(r.cpu_request_recommended),
                        "memory": memory_text(r.memory_request_recommended)}
            limits: dict[str, str | None] = {}
            if r.cpu_limit_recommended != r.cpu_limit:
                limits["cpu"] = None if r.cpu_limit_recommended < 0 else cpu_text(r.cpu_limit_recommended)
            if r.memory_limit_recommended != r.memory_limit:
                limits["memory"] = (None if r.memory_limit_recommended < 0
                                    else memory_text(r.memory_limit_recommended))
            resources: dict[str, Any] = {"requests": requests}
            if limits:
                resources["limits"] = limits
            containers.append({"name": r.container, "resources": resources})
        pod_spec = {"containers": containers}
        spec: dict[str, Any] = {"template": {"spec": pod_spec}}
        if kind == "CronJob":
            spec = {"jobTemplate": {"spec": spec}}
        patch = {"apiVersion": API_VERSIONS.get(kind, "apps/v1"), "kind": kind,
                 "metadata": {"name": workload, "namespace": namespace}, "spec": spec}
        name = "-".join(_safe(p) for p in (cluster, namespace, kind.lower(), workload) if p) + ".yaml"
        path = directory / name
        path.write_text("# rikugame recommend: " + f"{report.recommender}, {_when(report.end)}\n"
                        + yaml.safe_dump(patch, sort_keys=False))
        written.append(path)
        names.append(name)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "patches": [{"path": n} for n in names]}
    k_path = directory / "kustomization.yaml"
    k_path.write_text(yaml.safe_dump(kustomization, sort_keys=False))
    written.append(k_path)
    return written
