"""``rikugame operator``: run the operator against a cluster (in-cluster, or ``--kubeconfig``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from rikugame.commands import options as opts
from rikugame.errors import RikugameError
from rikugame.operator.settings import OperatorSettings


async def _serve(kubeconfig: Path | None, settings: OperatorSettings, port: int, cycles: int | None) -> None:
    from kubernetes_asyncio import config
    from kubernetes_asyncio.client import ApiClient

    from rikugame.cluster.kube_access import KubeAccess
    from rikugame.operator.service import OperatorService

    if kubeconfig is not None:
        api = await config.new_client_from_config(config_file=str(kubeconfig))
    else:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        api = ApiClient()
    async with api:
        await OperatorService(KubeAccess(api), settings).run(port=port, cycles=cycles)


def operator(
    kubeconfig: Annotated[Path | None, typer.Option(
        "--kubeconfig", help="Kubeconfig file (default: the in-cluster ServiceAccount).")] = None,
    metrics_interval: Annotated[str, typer.Option(
        "--metrics-interval", help="How often pod metrics are read and every Tuner decided, e.g. 60s.")] = "60s",
    checkpoint_interval: Annotated[str, typer.Option(
        "--checkpoint-interval", help="How often each Tuner's state is written to its TunerCheckpoint.")] = "10m",
    kill_switch: Annotated[bool, typer.Option(
        "--kill-switch", help="Decide and publish, never change a workload.")] = False,
    namespace: Annotated[str, typer.Option(
        "--namespace", help="The operator's namespace (kill-switch ConfigMap rikugame-kill-switch).")]
    = "rikugame-system",
    port: Annotated[int, typer.Option("--port", help="Port of /healthz and /metrics.")] = 8080,
    cycles: Annotated[int | None, typer.Option("--cycles", help="Stop after this many cycles (tests).")] = None,
) -> None:
    """Keep every Tuner's workload right-sized: pod metrics → decision core → in-place resize, status,
    checkpoints."""
    logging.basicConfig(level=logging.INFO, format='{"time":"%(asctime)s","level":"%(levelname)s",'
                                                   '"msg":"%(message)s"}')
    try:
        settings = OperatorSettings(
            metrics_interval_seconds=opts.duration("--metrics-interval", metrics_interval),
            checkpoint_interval_seconds=opts.duration("--checkpoint-interval", checkpoint_interval),
            kill_switch=kill_switch, namespace=namespace)
        if kubeconfig is not None and not kubeconfig.is_file():
            raise RikugameError(f"--kubeconfig: {kubeconfig} does not exist")
        asyncio.run(_serve(kubeconfig, settings, port, cycles))
    except RikugameError as exc:
        raise opts.fail(str(exc)) from exc
    except KeyboardInterrupt:
        pass
