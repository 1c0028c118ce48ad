"""The ``prom`` tier's synthetic cluster and helpers (imported by its conftest and tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import promdata  # noqa: E402

END = 1_767_225_600  # 2026-01-01T00:00:00Z, a multiple of 2 h
DAYS = 3
START = END - DAYS * 86400
MINUTES = DAYS * 1440
GIB = 2**30
MIB = 2**20


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fixture_pods() -> list[promdata.Pod]:
    """The synthetic cluster: what each pod is, and which corner case it carries."""
    vms = promdata.load_vms([f"bitbrains-rnd-{i:03d}" for i in (1, 5, 7, 8, 9, 10)])
    v = [vms[f"bitbrains-rnd-{i:03d}"] for i in (1, 5, 7, 8, 9, 10)]

    def usage(vm: promdata.VMTrace, day: int, minutes: int = MINUTES) -> tuple[np.ndarray, np.ndarray]:
        return promdata.replay(vm, first_record=day * 288, minutes=minutes)

    pods: list[promdata.Pod] = []

    def add(ns: str, name: str, workload: str, vm: promdata.VMTrace, day: int, **kw: object) -> promdata.Pod:
        minutes = int(kw.pop("minutes", MINUTES))  # type: ignore[call-overload]
        cpu, mem = usage(vm, day, minutes)
        pod = promdata.Pod(namespace=ns, name=name, workload=workload, start=END - minutes * 60,
                           cpu_cores=cpu, memory_bytes=mem, **kw)  # type: ignore[arg-type]
        pods.append(pod)
        return pod

    # Two pods replaying consecutive windows of one VM (KRR: max over pods of each pod's P95).
    add("shop", "web-5d8f7c9b6-aaaaa", "web", v[0], 0, cpu_request_cores=0.5, memory_request_bytes=GIB)
    add("shop", "web-5d8f7c9b6-bbbbb", "web", v[0], 3, cpu_request_cores=0.5, memory_request_bytes=GIB)
    # An HPA scales api on CPU.
    add("shop", "api-5d8f7c9b6-aaaaa", "api", v[4], 0, cpu_request_cores=0.1, memory_request_bytes=256 * MIB,
        memory_limit_bytes=None, hpa_metric="cpu")
    add("shop", "api-5d8f7c9b6-bbbbb", "api", v[4], 3, cpu_request_cores=0.1, memory_request_bytes=256 * MIB,
        memory_limit_bytes=None, hpa_metric="cpu")
    add("shop", "db-0", "db", v[1], 0, kind="StatefulSet", cpu_request_cores=2.0,
        memory_request_bytes=4 * GIB, cpu_limit_cores=4.0, memory_limit_bytes=4 * GIB)
    # Counter restarts, a 5-hour gap and an OOM kill.
    worker = add("batch", "worker-5d8f7c9b6-aaaaa", "worker", v[5], 10, counter_resets=(1000, 2500),
                 oom_minute=3000, cpu_request_cores=0.05, memory_request_bytes=512 * MIB,
                 memory_limit_bytes=512 * MIB)
    worker.cpu_cores[1500:1800] = np.nan
    worker.memory_bytes[1500:1800] = np.nan
    # Two hours of history only: too little for a recommendation.
    add("batch", "fresh-5d8f7c9b6-aaaaa", "fresh", v[2], 0, minutes=120, cpu_request_cores=0.2,
        memory_request_bytes=GIB)
    # No requests or limits at all.
    add("batch", "bare-5d8f7c9b6-aaaaa", "bare", v[3], 0, cpu_request_cores=None, memory_request_bytes=None,
        memory_limit_bytes=None)
    return pods


def turnover_pods() -> list[promdata.Pod]:
    """Pods that come and go within the window (discovery reads settings from the newest span that has them):

    * ``gone``: one pod that ran from day 0 to day 1 of the 3-day window and ended;
    * ``rolled``: its old pod (1 core, 2 GiB) ran days 0–1, then a rollout started the new pod (250m,
      512 MiB) that runs to the end."""
    vm = promdata.load_vms(["bitbrains-rnd-007"])["bitbrains-rnd-007"]

    def pod(name: str, workload: str, start_day: int, days: int, **kw: object) -> promdata.Pod:
        cpu, mem = promdata.replay(vm, first_record=start_day * 288, minutes=days * 1440)
        return promdata.Pod(namespace="ops", name=name, workload=workload, start=START + start_day * 86400,
                            cpu_cores=cpu, memory_bytes=mem, **kw)  # type: ignore[arg-type]

    return [pod("gone-5d8f7c9b6-aaaaa", "gone", 0, 1, cpu_request_cores=0.3, memory_request_bytes=768 * MIB,
                memory_limit_bytes=768 * MIB),
            pod("rolled-5d8f7c9b6-aaaaa", "rolled", 0, 2, cpu_request_cores=1.0, memory_request_bytes=2 * GIB,
                memory_limit_bytes=2 * GIB),
            pod("rolled-5d8f7c9b6-bbbbb", "rolled", 2, 1, cpu_request_cores=0.25, memory_request_bytes=512 * MIB,
                memory_limit_bytes=512 * MIB)]


@dataclass
class PromServer:
    url: str
    pods: list[promdata.Pod]
    end: int
    start: int
    process: subprocess.Popen[bytes]


