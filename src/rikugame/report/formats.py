"""Rendering of the right-sizing report: table (rich), JSON, YAML, CSV, HTML, and kustomize patches."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from rikugame.core.quantities import format_cpu, format_memory
from rikugame.report import machine, page
from rikugame.report.recommend_report import GIB, SEVERITIES, Report, ReportRow

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
        return machine.to_json({"report": header(report), "rows": [row_data(r) for r in report.rows]})
    if fmt == "yaml":
        return machine.to_yaml({"report": header(report), "rows": [row_data(r) for r in report.rows]})
    if fmt == "csv":
        return machine.to_csv([row_data(r) for r in report.rows]) if report.rows else machine.to_csv(
            [], [machine.camel(k) for k in ReportRow.__dataclass_fields__])
    if fmt == "html":
        return _html(report)
    if fmt == "table":
        return _table(report, width)
    raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")


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
    """The page: verdict, sortable table, copyable YAML per workload (``report.page``'s look)."""
    sufficient = [r for r in report.rows if r.sufficient]
    shrink = [r for r in sufficient if r.monthly_saving > 0.005]
    grow = [r for r in sufficient if r.monthly_saving < -0.005]
    unchanged = len(sufficient) - len(shrink) - len(grow)
    short = len(report.rows) - len(sufficient)
    cores = sum(r.pods * (r.cpu_request - r.cpu_request_recommended) / 1000 for r in sufficient
                if r.cpu_request >= 0 and r.cpu_request_recommended >= 0)
    gib = sum(r.pods * (r.memory_request - r.memory_request_recommended) / GIB for r in sufficient
              if r.memory_request >= 0 and r.memory_request_recommended >= 0)
    total = report.total_saving()
    verb = "save" if total >= 0 else "cost"
    workloads = {(r.cluster, r.namespace, r.kind, r.workload) for r in report.rows}
    summary = [
        f"Applying these recommendations would <b>{verb} ${abs(total):,.2f} per month</b> "
        f"({'−' if cores >= 0 else '+'}{abs(cores):,.2f} cores and {'−' if gib >= 0 else '+'}{abs(gib):,.2f} GiB "
        f"of requests over the running pods) across {len(report.rows):,} containers of {len(workloads):,} "
        "workloads.",
        f"<b>{len(shrink):,}</b> containers to shrink, <b>{len(grow):,}</b> to grow, {unchanged:,} about right; "
        + (f"<b>{short:,}</b> with too little history (kept as they are)." if short
           else "every container had enough history."),
    ]
    critical = sorted((r for r in report.rows if r.severity == "CRITICAL"), key=lambda r: r.monthly_saving)
    if critical:
        names = ", ".join(page.esc(f"{r.namespace}/{r.workload}/{r.container}") for r in critical[:5])
        summary.append(f"Largest changes (critical): {names}" + (" …" if len(critical) > 5 else "") + ".")
    headers = ("namespace", "workload", "container", "pods", "CPU request", "CPU limit", "memory request",
               "memory limit", "severity", "saving ($/month)", "history (days)", "notes")
    rows, keys, classes = [], [], []
    for r in report.rows:
        rows.append([r.namespace, f"{r.kind}/{r.workload}", r.container, str(r.pods),
                     _change(cpu_text(r.cpu_request), cpu_text(r.cpu_request_recommended)),
                     _change(cpu_text(r.cpu_limit), cpu_text(r.cpu_limit_recommended)),
                     _change(memory_text(r.memory_request), memory_text(r.memory_request_recommended)),
                     _change(memory_text(r.memory_limit), memory_text(r.memory_limit_recommended)),
                     r.severity, f"{r.monthly_saving:,.2f}" if r.sufficient else "too little data",
                     f"{r.history_seconds / 86400:.1f}", "; ".join(r.notes)])
        keys.append([None, None, None, str(r.pods), str(r.cpu_request_recommended - r.cpu_request), None,
                     str(r.memory_request_recommended - r.memory_request), None,
                     str(SEVERITIES.index(r.severity)), str(r.monthly_saving if r.sufficient else -1e18),
                     str(r.history_seconds), None])
        classes.append(r.severity.lower())
    table = page.text_table(headers, rows, sortable=True, sort_keys=keys, row_classes=classes)
    yaml_blocks = []
    for (cluster, namespace, kind, workload), patch in workload_patches(report):
        ident = "-".join(p for p in (cluster, namespace, kind.lower(), workload) if p)
        yaml_blocks.append(page.copyable_yaml(f"patch-{ident}", f"{namespace}/{kind}/{workload}",
                                              yaml.safe_dump(patch, sort_keys=False)))
    produced = (f"rikugame recommend · recommender {report.recommender} · {report.history_seconds / 86400:g} days "
                f"of history to {_when(report.end)} · prices ${report.cpu_price}/core-hour and "
                f"${report.memory_price}/GiB-hour · {report.queries:,} Prometheus queries in "
                f"{report.elapsed_seconds:.1f} s")
    top = sorted(sufficient, key=lambda r: -abs(r.monthly_saving))[:15]
    from rikugame.report import plots  # matplotlib: only for the HTML page

    bars = plots.saving_bars([(f"{r.namespace}/{r.workload}/{r.container}", r.monthly_saving) for r in top]) \
        if top else ""
    sections = [
        ("Where the saving is", page.figure(bars, f"The {len(top)} containers with the largest change in cost, "
                                                  "per month at the prices above.") if top
         else "<p>No container has a recommendation yet.</p>"),
        ("Containers", "<p class='note'>Click a column to sort. Now → recommended; severity follows KRR's "
                       "thresholds (CPU change ≥ 0.1 / 0.25 / 0.5 core or memory ≥ 100 / 250 / 500 MiB: "
                       "OK / WARNING / CRITICAL). Saving = running pods × 730 h × the change at the prices "
                       f"above. CPU: {page.esc(report.cpu_explanation)}. Memory: "
                       f"{page.esc(report.memory_explanation)}.</p>" + table),
        ("Patches to apply", "<p class='note'>One strategic-merge patch per workload (containers with a "
                             "recommendation only): <code>kubectl patch --type strategic --patch-file</code>, or "
                             "commit them with <code>--emit-patches DIR</code>.</p>"
                             + ("".join(yaml_blocks) or "<p>No workload has a recommendation yet.</p>")),
    ]
    title = "Right-sizing report" + (f": {', '.join(sorted({r.namespace for r in report.rows}))}"
                                     if 0 < len({r.namespace for r in report.rows}) <= 4 else "")
    return page.page(title=title, produced=produced, summary=summary, sections=sections)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


API_VERSIONS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
                "ReplicaSet": "apps/v1", "CronJob": "batch/v1", "Job": "batch/v1",
                "Rollout": "argoproj.io/v1alpha1"}


def workload_patches(report: Report) -> list[tuple[tuple[str, str, str, str], dict[str, Any]]]:
    """Per workload (cluster, namespace, kind, name): its strategic-merge patch (containers with a
    recommendation only), sorted."""
    by_workload: dict[tuple[str, str, str, str], list[ReportRow]] = {}
    for r in report.rows:
        if r.sufficient and r.container:
            by_workload.setdefault((r.cluster, r.namespace, r.kind, r.workload), []).append(r)
    out = []
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
        out.append(((cluster, namespace, kind, workload), patch))
    return out


def emit_patches(report: Report, directory: Path) -> list[Path]:
    """Kustomize-ready strategic-merge patches (one file per workload) plus a ``kustomization.yaml``
    listing them; only containers with a recommendation are included. Returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names: list[str] = []
    for (cluster, namespace, kind, workload), patch in workload_patches(report):
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
