"""The ``prom`` tier: a real Prometheus (Debian's package) loaded with a small replayed history.

Session fixtures: the history (8 pods, 3 days at 60 s, replayed from the shared Bitbrains trace by
``bench/promdata.py``; see prom_env.py) is backfilled once with ``promtool`` into a pristine TSDB; each
session runs ``prometheus`` on a free loopback port with no scrape targets over a *copy* of it (Prometheus
compacts backfilled blocks about a minute after start), and stops it at the end. Missing ``prometheus``/
``promtool``: skip (fail under CI=true, which installs them). Missing shared trace: skip with the path, like
every test that reads ../shared/data (DESIGN.md, "Data"; CI cannot install it).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prom_env import END, START, PromServer, fixture_pods, free_port, promdata, turnover_pods, unavailable


@pytest.fixture(scope="session")
def prom_pods() -> list[promdata.Pod]:
    if not promdata.data_path().exists():
        pytest.skip(f"shared trace not found: {promdata.data_path()} (set RIKUGAME_BITBRAINS)")
    return fixture_pods()


@pytest.fixture(scope="session")
def pristine_tsdb(tmp_path_factory: pytest.TempPathFactory, prom_pods: list[promdata.Pod]) -> Path:
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        unavailable("prometheus/promtool not installed (tools/ci-prepare.d/20-prometheus.sh installs them)")
    tsdb = tmp_path_factory.mktemp("tsdb-pristine")
    promdata.backfill(prom_pods, tsdb, start=START, end=END, workers=2)
    return tsdb


@contextlib.contextmanager
def serve(tsdb: Path, work: Path, pods: list[promdata.Pod]) -> Iterator[PromServer]:
    """A running Prometheus over a fresh copy of ``tsdb``."""
    data = work / "data"
    shutil.copytree(tsdb, data)
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = free_port()
    log = (work / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=10y",
         "--web.enable-lifecycle"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(work / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus not ready after 30 s")
            time.sleep(0.1)
        yield PromServer(url=url, pods=pods, end=END, start=START, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory, pristine_tsdb: Path,
               prom_pods: list[promdata.Pod]) -> Iterator[PromServer]:
    """A running Prometheus over a fresh copy of the backfilled history."""
    with serve(pristine_tsdb, tmp_path_factory.mktemp("prometheus"), prom_pods) as server:
        yield server


@pytest.fixture(scope="module")
def prometheus_turnover(tmp_path_factory: pytest.TempPathFactory, prom_pods: list[promdata.Pod]) -> Iterator[
        PromServer]:
    """A second, small history where pods come and go: ``turnover_pods``."""
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        unavailable("prometheus/promtool not installed (tools/ci-prepare.d/20-prometheus.sh installs them)")
    pods = turnover_pods()
    tsdb = tmp_path_factory.mktemp("tsdb-turnover")
    promdata.backfill(pods, tsdb, start=START, end=END, workers=2)
    with serve(tsdb, tmp_path_factory.mktemp("prometheus-turnover"), pods) as server:
        yield server
