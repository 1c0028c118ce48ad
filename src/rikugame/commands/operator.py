"""``rikugame operator``: run the operator against a cluster (in-cluster, or ``--kubeconfig``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rikugame.commands import options as opts
from rikugame.errors import RikugameError
from rikugame.operator.settings import OperatorSettings

if TYPE_CHECKING:  # imported when the command runs: other commands start without the Kubernetes client
    from kubernetes_asyncio.client.exceptions import ApiException


def _status_message(exc: ApiException) -> str:
    """The message of the API server's Status in ``exc`` (its body as is when it is not one)."""
    import json

    body = exc.body if isinstance(exc.body, str) else ""
    try:
        return str(json.loads(body).get("message", body))
    except ValueError:
        return body


async def _serve(kubeconfig: Path | None, settings: OperatorSettings, port: int, cycles: int | None,
                 leader_election: bool, prometheus: str | None, prometheus_history_seconds: int) -> None:
    from kubernetes_asyncio import config
    from kubernetes_asyncio.client import ApiClient

    from rikugame.cluster.certs import serving_certificate
    from rikugame.cluster.kube_access import KubeAccess
    from rikugame.manifests.install import WEBHOOK_SECRET, mutating_webhook
    from rikugame.operator.service import OperatorService
    from rikugame.operator.webhook import WebhookTLS

    if kubeconfig is not None:
        api = await config.new_client_from_config(config_file=str(kubeconfig))
    else:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        api = ApiClient()
    access = KubeAccess(api)
    tls = None
    if settings.webhook_port is not None:
        service = f"{settings.webhook_service}.{settings.namespace}.svc"
        cert = await access.shared_serving_certificate(
            settings.namespace, WEBHOOK_SECRET,
            lambda: serving_certificate([service, f"{service}.cluster.local"], ["127.0.0.1"]))
        tls = WebhookTLS(cert.cert_pem, cert.key_pem, cert.ca_pem)
    election = None
    if leader_election:
        import os
        import socket

        from rikugame.cluster.lease import LeaseLock

        identity = os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
        election = LeaseLock(api, settings.namespace, "rikugame-operator", identity)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(api)
        history = None
        if prometheus is not None:
            from rikugame.sources.history import PrometheusHistory
            from rikugame.sources.prometheus import PrometheusClient, PrometheusSettings

            prom = await stack.enter_async_context(PrometheusClient(PrometheusSettings(prometheus)))
            history = PrometheusHistory(prom, history_seconds=prometheus_history_seconds)
        operator_service = OperatorService(access, settings, election, mutating_webhook(settings.namespace),
                                           history)
        await operator_service.run(port=port, cycles=cycles, tls=tls)


def operator(
    kubeconfig: Annotated[Path | None, typer.Option(
        "--kubeconfig", metavar="FILE", help="Kubeconfig file (default: the in-cluster ServiceAccount).")] = None,
    metrics_interval: Annotated[str, typer.Option(
        "--metrics-interval", metavar="DURATION",
        help="How often pod metrics are read and every Tuner decided, e.g. 60s.")] = "60s",
    checkpoint_interval: Annotated[str, typer.Option(
        "--checkpoint-interval", metavar="DURATION",
        help="How often each Tuner's state is written to its TunerCheckpoint.")] = "1h",
    kill_switch: Annotated[bool, typer.Option(
        "--kill-switch", help="Decide and publish, never change a workload.")] = False,
    namespace: Annotated[str, typer.Option(
        "--namespace", metavar="NAME", help="The operator's namespace (kill-switch ConfigMap rikugame-kill-switch).")]
    = "rikugame-system",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port of /healthz and /metrics.")] = 8080,
    webhook_port: Annotated[int, typer.Option(
        "--webhook-port", metavar="PORT", help="HTTPS port of the mutating webhook (0: no webhook).")] = 8443,
    webhook_url: Annotated[str | None, typer.Option(
        "--webhook-url", metavar="URL",
        help="URL the API server reaches the webhook at (default: the rikugame-webhook Service).")]
    = None,
    cycles: Annotated[int | None, typer.Option(
        "--cycles", metavar="N", help="Stop after this many cycles (tests).")] = None,
    watch_namespace: Annotated[list[str] | None, typer.Option(
        "--watch-namespace", metavar="NAME", help="Only Tuners of this namespace (repeatable; default: all).")]
    = None,
    prometheus: Annotated[str | None, typer.Option(
        "--prometheus", metavar="URL",
        help="Backfill each new Tuner from this Prometheus (cAdvisor + kube-state-metrics), so it decides "
             "from weeks of history on day one instead of gathering.")] = None,
    prometheus_history: Annotated[str, typer.Option(
        "--prometheus-history", metavar="DURATION", help="How much history a backfill reads.")] = "14d",
    leader_election: Annotated[bool, typer.Option(
        "--leader-election/--no-leader-election",
        help="Only the holder of the Lease rikugame-operator (in --namespace) acts; others stand by.")] = True,
) -> None:
    """Keep every Tuner's workload right-sized: pod metrics → decision core → in-place resize, status,
    checkpoints."""
    from kubernetes_asyncio.client.exceptions import ApiException

    logging.basicConfig(level=logging.INFO, format='{"time":"%(asctime)s","level":"%(levelname)s",'
                                                   '"msg":"%(message)s"}')
    try:
        settings = OperatorSettings(
            metrics_interval_seconds=opts.duration("--metrics-interval", metrics_interval),
            checkpoint_interval_seconds=opts.duration("--checkpoint-interval", checkpoint_interval),
            kill_switch=kill_switch, namespace=namespace, watch_namespaces=tuple(watch_namespace or ()),
            webhook_port=webhook_port or None,
            webhook_url=webhook_url)
        if kubeconfig is not None and not kubeconfig.is_file():
            raise RikugameError(f"--kubeconfig: {kubeconfig} does not exist")
        if prometheus is not None and not prometheus.startswith(("http://", "https://")):
            raise RikugameError(f"--prometheus: {prometheus!r} is not an http(s):// URL")
        history_seconds = opts.duration("--prometheus-history", prometheus_history)
        asyncio.run(_serve(kubeconfig, settings, port, cycles, leader_election, prometheus, history_seconds))
    except RikugameError as exc:
        raise opts.fail(str(exc)) from exc
    except ApiException as exc:  # at start: RBAC or an object deploy/ makes is missing
        raise opts.fail(f"the API server refused a request: {exc.status} {exc.reason}: "
                        f"{_status_message(exc)}") from exc
    except KeyboardInterrupt:
        pass
