"""``rikugame recommend``: a right-sizing report from Prometheus history (no cluster access needed).

Workloads come from kube-state-metrics, usage from cAdvisor, both through Prometheus; the numbers come
from the same decision core the operator runs. See docs/recommend.md.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from rikugame.commands import options as opts
from rikugame.commands import recommend_kube
from rikugame.commands.recommend_pipeline import DEFAULT_MAX_PODS_PER_QUERY, ReportOptions, build_report
from rikugame.core.policy import TunerSpec
from rikugame.core.recommenders import names as recommender_names
from rikugame.errors import ConfigError, InputError, RikugameError
from rikugame.files.outputs import check_output
from rikugame.report import formats
from rikugame.report.recommend_report import DEFAULT_CPU_PRICE, DEFAULT_MEMORY_PRICE, Report
from rikugame.sources.prometheus import PrometheusSettings
from rikugame.sources.promql import Scope

KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet", "Rollout")


def parse_time(text: str) -> int:
    """``now``, Unix seconds, or an ISO-8601 / RFC 3339 time → Unix seconds."""
    if text == "now":
        return int(time.time())
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"--end: not a time: {text!r} (use now, Unix seconds or 2026-01-31T12:00:00Z)") \
            from exc
    if parsed.tzinfo is None:
        raise InputError(f"--end: give a time zone (e.g. {text}Z)")
    return int(parsed.timestamp())


def parse_selector(text: str | None) -> tuple[tuple[str, str, str], ...]:
    """``app=web,tier!=cache`` → ((app, =, web), (tier, !=, cache))."""
    if not text:
        return ()
    out = []
    for part in text.split(","):
        part = part.strip()
        if "!=" in part:
            k, v = part.split("!=", 1)
            op = "!="
        elif "=" in part:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            op = "="
        else:
            raise InputError(f"--selector: only key=value and key!=value are supported, got {part!r}")
        if not k.strip():
            raise InputError(f"--selector: empty label name in {part!r}")
        out.append((k.strip(), op, v.strip()))
    return tuple(out)


def parse_headers(values: list[str] | None) -> dict[str, str]:
    """``Name: value`` strings → dict."""
    headers: dict[str, str] = {}
    for item in values or []:
        if ":" not in item:
            raise InputError(f"--header: expected 'Name: value', got {item!r}")
        name, value = item.split(":", 1)
        headers[name.strip()] = value.strip()
    return headers


def recommend(
    prometheus: Annotated[str | None, typer.Option("--prometheus", "-p", envvar="RIKUGAME_PROMETHEUS_URL",
                                                   metavar="URL",
        help="Prometheus (or Thanos/Mimir/VictoriaMetrics) base URL. Default: a Prometheus Service found "
             "through the kubeconfig (kube-prometheus-stack / Prometheus Operator labels, as KRR).")] = None,
    namespace: Annotated[list[str] | None, typer.Option(
        "--namespace", "-n", metavar="NAME", help="Namespace to report on (repeatable). Default: all.")] = None,
    selector: Annotated[str | None, typer.Option(
        "--selector", "-l", metavar="SELECTOR",
        help="Pod label selector (key=value,key!=value), read from kube_pod_labels.")]
    = None,
    history: Annotated[str, typer.Option("--history", metavar="DURATION", help="How much history to use.")] = "14d",
    step: Annotated[str | None, typer.Option("--step", metavar="DURATION",
        help="Sample resolution (subquery step). Default: 75s for krr-simple (KRR's step), 5m for rikugame "
             "(the resolution its settings were screened at), else 1m.")]
    = None,
    rate_window: Annotated[str | None, typer.Option("--rate-window", metavar="DURATION",
        help="CPU rate() window. Default: the step for krr-simple (KRR's rule), else 5m.")] = None,
    recommender: Annotated[str | None, typer.Option(
        "--recommender", "-r", metavar="NAME",
        help=f"Recommender: one of {', '.join(recommender_names())} (default: the --policy's, else "
             "rikugame, the operator's default; krr-simple restates KRR's simple strategy).")] = None,
    fmt: Annotated[opts.Format, typer.Option("--format", "-f", help=opts.FORMAT_HELP)] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
        help="Write the report to this file.")]
    = None,
    end: Annotated[str, typer.Option("--end", metavar="TIME",
        help="The report's 'now': now, Unix seconds or RFC 3339.")]
    = "now",
    cpu_price: Annotated[float, typer.Option("--cpu-price", metavar="USD",
        help="USD per core-hour.")] = DEFAULT_CPU_PRICE,
    memory_price: Annotated[float, typer.Option("--memory-price", metavar="USD", help="USD per GiB-hour.")]
    = DEFAULT_MEMORY_PRICE,
    min_history: Annotated[str | None, typer.Option(
        "--min-history", metavar="DURATION",
        help="Least history for a recommendation (default: the recommender's own).")] = None,
    policy: Annotated[Path | None, typer.Option(
        "--policy", metavar="FILE",
        help="YAML Tuner spec: apply its guardrails and bounds (what the operator would do).")]
    = None,
    emit_patches: Annotated[Path | None, typer.Option(
        "--emit-patches", metavar="DIR", help="Write kustomize strategic-merge patches into this directory.")] = None,
    export_trace: Annotated[Path | None, typer.Option(
        "--export-trace", metavar="FILE.parquet",
        help="Also write the fetched per-container usage history as a trace for `rikugame backtest --data`.")]
    = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", metavar="KIND",
        help=f"Workload kind (repeatable): {', '.join(KINDS)}. Default: all.")] = None,
    cluster_label: Annotated[str | None, typer.Option(
        "--cluster-label", metavar="LABEL", help="Label that names the cluster in a multi-cluster Prometheus.")] = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", metavar="NAME", help="Only this cluster (with --cluster-label).")] = None,
    token: Annotated[str | None, typer.Option("--token", envvar="RIKUGAME_PROMETHEUS_TOKEN",
                                              metavar="TOKEN", help="Bearer token.")] = None,
    token_file: Annotated[Path | None, typer.Option(
        "--token-file", metavar="FILE", help="Read the bearer token from a file.")] = None,
    user: Annotated[str | None, typer.Option("--user", metavar="USER:PASSWORD",
        help="Basic auth as user:password.")] = None,
    header: Annotated[list[str] | None, typer.Option("--header", "-H", metavar="HEADER",
        help="Extra 'Name: value' header.")]
    = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", metavar="FILE",
        help="CA bundle to verify Prometheus' TLS.")]
    = None,
    insecure: Annotated[bool, typer.Option("--insecure-skip-tls-verify", help="Do not verify TLS.")] = False,
    client_cert: Annotated[Path | None, typer.Option("--client-cert", metavar="FILE",
        help="Client certificate (mTLS).")]
    = None,
    client_key: Annotated[Path | None, typer.Option("--client-key", metavar="FILE", help="Client key (mTLS).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", metavar="N", help="Queries in flight at once.")] = 3,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="Seconds per query.")] = 120.0,
    retries: Annotated[int, typer.Option("--retries", metavar="N", help="Retries on 5xx, timeouts, connection errors.")]
    = 4,
    max_pods_per_query: Annotated[int, typer.Option(
        "--max-pods-per-query", metavar="N", help="Pods per usage query (bounds Prometheus memory).")]
    = DEFAULT_MAX_PODS_PER_QUERY,
    kubeconfig: Annotated[Path | None, typer.Option(
        "--kubeconfig", metavar="FILE",
        help="Without --prometheus: find Prometheus through this kubeconfig's API server (default: "
             "$KUBECONFIG, ~/.kube/config, in-cluster). Workloads still come from kube-state-metrics.")] = None,
) -> None:
    """Right-sizing report from Prometheus history: current vs recommended requests/limits, severity,
    estimated monthly saving and data sufficiency, per workload container."""
    try:
        opts.check_format(fmt)
        if kubeconfig is not None and prometheus is not None:
            raise InputError("--kubeconfig: only used to find Prometheus; with --prometheus drop it")
        if (cluster is None) != (cluster_label is None) and cluster is not None:
            raise InputError("--cluster: needs --cluster-label (the label that names the cluster)")
        if client_key is not None and client_cert is None:
            raise InputError("--client-key: needs --client-cert")
        if token is not None and token_file is not None:
            raise InputError("--token-file: give either --token or --token-file, not both")
        if output is not None:
            check_output(output, "--output")
        if export_trace is not None:
            if export_trace.suffix != ".parquet":
                raise InputError(f"--export-trace {export_trace}: the trace is written as Parquet; name the "
                                 "file *.parquet")
            check_output(export_trace, "--export-trace")
        if token_file is not None:
            try:
                token = token_file.read_text().strip()
            except OSError as exc:
                raise InputError(f"--token-file: cannot read {token_file}: {exc.strerror}") from exc
        basic = None
        if user is not None:
            if ":" not in user:
                raise InputError("--user: expected user:password")
            name, password = user.split(":", 1)
            basic = (name, password)
        cert: str | tuple[str, str] | None = None
        if client_cert is not None:
            cert = (str(client_cert), str(client_key)) if client_key is not None else str(client_cert)
        verify: bool | str = False if insecure else (str(ca_file) if ca_file else True)
        if prometheus is None:
            found = _find_prometheus(kubeconfig)
            prometheus = found.url
            token = token or found.bearer_token
            verify = verify if (insecure or ca_file) else found.verify
            cert = cert or found.client_cert
        settings = PrometheusSettings(
            url=prometheus, bearer_token=token, basic_auth=basic, headers=parse_headers(header),
            verify=verify, client_cert=cert, timeout_seconds=timeout, concurrency=concurrency,
            retries=max(0, retries))
        for k in kind or []:
            if k not in KINDS:
                raise InputError(f"--kind: choose from {', '.join(KINDS)}, not {k!r}")
        spec = _spec(policy)
        options = ReportOptions(
            end=parse_time(end), history_seconds=opts.duration("--history", history),
            step_seconds=opts.duration("--step", step) if step else None,
            rate_window_seconds=opts.duration("--rate-window", rate_window) if rate_window else None,
            recommender=recommender or (spec.recommender if spec is not None else "rikugame"), spec=spec,
            min_history_seconds=opts.duration("--min-history", min_history) if min_history else None,
            cpu_price=cpu_price, memory_price=memory_price, max_pods_per_query=max_pods_per_query,
            kinds=frozenset(kind) if kind else None, export_trace=export_trace)
        scope = Scope(namespaces=tuple(namespace or ()), pod_selector=parse_selector(selector),
                      cluster_label=cluster_label, cluster=cluster)
        report = _run_with_progress(settings, scope, options)
        terminal = Console()
        width = terminal.width if terminal.is_terminal and not output else 200
        text = formats.render(report, fmt, width=width)
        opts.emit(text, output, detail=f"{len(report.rows)} containers")
        if emit_patches is not None:
            for path in formats.emit_patches(report, emit_patches):
                opts.say_wrote(path)
        if export_trace is not None:
            opts.say_wrote(export_trace, f"{report.trace_samples or 0:,} usage samples of {len(report.rows)} "
                                         f"containers; replay: rikugame backtest --data {export_trace}")
    except RikugameError as exc:
        raise opts.fail(str(exc)) from exc


def _find_prometheus(kubeconfig: Path | None) -> recommend_kube.Found:
    where = recommend_kube.find_kubeconfig(kubeconfig)
    if where is None:
        raise InputError("--prometheus: give the Prometheus URL (or a kubeconfig to find it through the API: "
                         "--kubeconfig FILE, $KUBECONFIG or ~/.kube/config)")
    found = asyncio.run(recommend_kube.discover(where))
    Console(stderr=True).print(found.describe(), highlight=False, soft_wrap=True)
    return found


def _run_with_progress(settings: PrometheusSettings, scope: Scope, options: ReportOptions) -> Report:
    console = Console(stderr=True)
    if not console.is_terminal:
        return asyncio.run(build_report(settings, scope, options))
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        return asyncio.run(build_report(settings, scope, options, progress))


def _spec(path: Path | None) -> TunerSpec | None:
    data = opts.load_tuner_spec(path)
    if data is None:
        return None
    try:
        return TunerSpec.model_validate(data)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"--policy: {path} is not a valid Tuner spec: {first}") from exc
