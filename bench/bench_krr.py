"""Benchmark: Robusta KRR's ``simple`` strategy on the same fleet as ``bench_recommend.py``.

Times the real KRR (robusta-dev/krr, installed outside the repository, see docs/recommend.md "KRR for
the bench") the way ``bench_recommend.run_report`` times ``rikugame recommend``: wall time of the process,
its peak RSS (``wait4``), Prometheus' RSS polled every 50 ms (total, anonymous, file-backed).

KRR master lists workloads from the Kubernetes API only (its Prometheus-only ``--mode`` lives on an
unmerged 2024 branch), and its ``simple`` strategy sends *instant* queries without a ``time`` parameter,
so Prometheus evaluates them at its own clock. On this cached fleet (data end 2026-01-01T00:00Z) the
harness therefore runs, on loopback, in this process:

* a **Kubernetes API stub** serving the fleet's Deployments (containers, requests and limits as
  kube-state-metrics reports them at the data end; no StatefulSets, Jobs, …; 404 for CRDs) and empty pod
  lists, reached through a generated kubeconfig; KRR finds pods in Prometheus as usual;
* a **query proxy** in front of Prometheus that adds ``time=END`` to every ``/api/v1/query`` without
  one and records every request (evaluation time, range start/end), so the report can show that every
  query KRR sent was evaluated at the data end;
* KRR itself under **libfaketime** (``LD_PRELOAD``, ``FAKETIME=@2026-01-01 00:00:00``), so its own clock
  (range queries, file names) starts at the data end too. libfaketime cannot move Prometheus' clock (a Go
  binary reads time through the vDSO, not libc), hence the proxy.

Usage: ``.venv/bin/python bench/bench_krr.py --deployments 250 --runs 1 [--krr PATH] [--compare]``
(``--compare``: also one ``rikugame recommend -r krr-simple`` run on a fresh Prometheus, the ratio of the
figures and KRR's own numbers against the report's rows).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_recommend
from bench_recommend import END, MIB, PeakRss, Prometheus, rss_kib

DEFAULT_KRR = Path("/work/krr-venv/bin/krr")
FAKETIME_LIBS = (Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"),
                 Path("/usr/lib/faketime/libfaketimeMT.so.1"))


def krr_path(cli: str | None = None) -> Path:
    """KRR's command: ``--krr``, else ``$RIKUGAME_KRR``, else /work/krr-venv/bin/krr."""
    path = Path(cli or os.environ.get("RIKUGAME_KRR") or DEFAULT_KRR)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise FileNotFoundError(f"KRR not found at {path}: install it as docs/recommend.md ('KRR for the bench') "
                                f"says, or pass --krr PATH / set RIKUGAME_KRR to its `krr` command")
    return path


def faketime_lib() -> Path:
    for lib in FAKETIME_LIBS:
        if lib.exists():
            return lib
    raise FileNotFoundError("libfaketime not found: apt-get install -y --no-install-recommends faketime")


def faketime_env(end: int = END) -> dict[str, str]:
    """KRR's environment: its clock starts at ``end`` and runs (monotonic clocks are offset alike; with
    FAKETIME_DONT_FAKE_MONOTONIC=1 libfaketime 0.9.10 fails Python's sleeps with EINVAL)."""
    env = dict(os.environ)
    preload = [str(faketime_lib()), *filter(None, env.get("LD_PRELOAD", "").split(":"))]
    env.update(LD_PRELOAD=":".join(preload), TZ="UTC",
               FAKETIME="@" + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(end)))
    env.pop("FAKETIME_DONT_FAKE_MONOTONIC", None)
    env.pop("KUBECONFIG", None)
    return env


# --------------------------------------------------------------------------- the fleet, as the API shows it


def _instant(prom_url: str, query: str, end: int) -> list[dict]:
    r = httpx.post(f"{prom_url}/api/v1/query", data={"query": query, "time": str(end)}, timeout=120)
    r.raise_for_status()
    return r.json()["data"]["result"]


def _quantity(resource_name: str, value: float) -> str:
    return f"{round(value * 1000)}m" if resource_name == "cpu" else str(round(value))


def discover_fleet(prom_url: str, end: int = END) -> dict[str, list[dict]]:
    """The Deployments (and HPAs) a Kubernetes API would list at ``end``, from kube-state-metrics:
    ``kube_replicaset_owner`` → Deployment, ``kube_pod_owner`` → its pods, the first pod's
    ``kube_pod_container_resource_{requests,limits}`` → its containers. Kubernetes JSON objects."""
    owner = {(s["metric"]["namespace"], s["metric"]["replicaset"]): s["metric"]["owner_name"]
             for s in _instant(prom_url, 'kube_replicaset_owner{owner_kind="Deployment"}', end)}
    pods: dict[tuple[str, str], list[str]] = {}
    for s in _instant(prom_url, 'kube_pod_owner{owner_kind="ReplicaSet"}', end):
        m = s["metric"]
        deployment = owner.get((m["namespace"], m["owner_name"]))
        if deployment:
            pods.setdefault((m["namespace"], deployment), []).append(m["pod"])
    containers: dict[tuple[str, str], dict[str, dict[str, dict[str, str]]]] = {}
    for what in ("requests", "limits"):
        for s in _instant(prom_url, f"kube_pod_container_resource_{what}", end):
            m = s["metric"]
            per = containers.setdefault((m["namespace"], m["pod"]), {}).setdefault(
                m["container"], {"requests": {}, "limits": {}})
            per[what][m["resource"]] = _quantity(m["resource"], float(s["value"][1]))
    for s in _instant(prom_url, "kube_pod_container_info", end):
        m = s["metric"]
        containers.setdefault((m["namespace"], m["pod"]), {}).setdefault(
            m["container"], {"requests": {}, "limits": {}})
    deployments = []
    for (ns, name), members in sorted(pods.items()):
        first = sorted(members)[0]
        spec_containers = [{"name": c, "image": "registry.example/app:1", "resources": res}
                           for c, res in sorted(containers.get((ns, first), {}).items())]
        if not spec_containers:
            continue
        labels = {"app": name}
        deployments.append({
            "metadata": {"name": name, "namespace": ns, "uid": f"{ns}-{name}", "labels": labels},
            "spec": {"replicas": len(members), "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": spec_containers}}},
            "status": {"replicas": len(members), "readyReplicas": len(members)}})
    targets: dict[tuple[str, str], list[dict]] = {}
    for s in _instant(prom_url, 'kube_horizontalpodautoscaler_spec_target_metric{metric_target_type="utilization"}',
                      end):
        m = s["metric"]
        targets.setdefault((m["namespace"], m["horizontalpodautoscaler"]), []).append(
            {"type": "Resource", "resource": {"name": m["metric_name"], "target": {
                "type": "Utilization", "averageUtilization": round(float(s["value"][1]))}}})
    hpas = []
    for s in _instant(prom_url, "kube_horizontalpodautoscaler_info", end):
        m = s["metric"]
        replicas = len(pods.get((m["namespace"], m["scaletargetref_name"]), [])) or 1
        hpas.append({
            "metadata": {"name": m["horizontalpodautoscaler"], "namespace": m["namespace"]},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": m["scaletargetref_kind"],
                                        "name": m["scaletargetref_name"]},
                     "minReplicas": 1, "maxReplicas": max(replicas, 1),
                     "metrics": targets.get((m["namespace"], m["horizontalpodautoscaler"]), [])},
            "status": {"currentReplicas": replicas, "desiredReplicas": replicas}})
    return {"deployments": deployments, "hpas": hpas}


def fleet_from_cache(tsdb: Path, end: int = END) -> dict[str, list[dict]]:
    """:func:`discover_fleet` on a throwaway Prometheus, so the timed one starts untouched."""
    prom = Prometheus(tsdb)
    try:
        return discover_fleet(prom.url, end)
    finally:
        prom.stop()


# --------------------------------------------------------------------------- loopback servers


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join()


class KubeStub(_Server):
    """A read-only Kubernetes API with the fleet's Deployments (and HPAs); empty lists for the other
    kinds KRR lists; 404 for the CRDs (Rollout, StrimziPodSet, DeploymentConfig), as on a plain cluster."""

    LISTS: ClassVar[dict[str, tuple[str, str, str | None]]] = {
        "/apis/apps/v1/deployments": ("DeploymentList", "apps/v1", "deployments"),
        "/apis/apps/v1/statefulsets": ("StatefulSetList", "apps/v1", None),
        "/apis/apps/v1/daemonsets": ("DaemonSetList", "apps/v1", None),
        "/apis/batch/v1/jobs": ("JobList", "batch/v1", None),
        "/apis/batch/v1/cronjobs": ("CronJobList", "batch/v1", None),
        "/apis/autoscaling/v2/horizontalpodautoscalers": ("HorizontalPodAutoscalerList", "autoscaling/v2", "hpas"),
        "/api/v1/pods": ("PodList", "v1", None),
    }

    def __init__(self, fleet: dict[str, list[dict]]) -> None:
        self.bodies: dict[str, bytes] = {}
        for path, (kind, api, key) in self.LISTS.items():
            items = fleet.get(key, []) if key else []
            self.bodies[path] = json.dumps({"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": "1"},
                                            "items": items}).encode()
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                stub.requests.append(self.path)
                parts = path.strip("/").split("/")
                if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
                    path = "/api/v1/pods"  # the pod fallback: nothing beyond what Prometheus knows
                body = stub.bodies.get(path)
                status = 200
                if body is None:
                    status = 404
                    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                       "reason": "NotFound", "code": 404, "message": f"{path} not found"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "bench", "cluster": {"server": self.url}}],
            "users": [{"name": "bench", "user": {}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}]}))
        return path


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}


class QueryProxy(_Server):
    """Forwards to Prometheus; ``/api/v1/query`` without ``time`` gets ``time=end`` (Prometheus' "now"
    becomes the data end); every request is recorded (path, evaluation time, range start/end/step)."""

    def __init__(self, upstream: str, end: int = END) -> None:
        target = urllib.parse.urlsplit(upstream)
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                started = time.perf_counter()
                split = urllib.parse.urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
                params = urllib.parse.parse_qs(split.query)
                if form:
                    params.update(urllib.parse.parse_qs(body.decode()))
                record: dict[str, Any] = {"path": split.path}
                if split.path.endswith("/api/v1/query"):
                    if "time" in params:
                        record["time"] = float(params["time"][0])
                    else:
                        record["time"], record["pinned"] = float(end), True
                        extra = urllib.parse.urlencode({"time": str(end)})
                        if form or (method == "POST" and not body):
                            body = body + (b"&" if body else b"") + extra.encode()
                        else:
                            split = split._replace(query=split.query + ("&" if split.query else "") + extra)
                elif split.path.endswith("/api/v1/query_range"):
                    record.update({k: float(params[k][0]) if k != "step" else params[k][0]
                                   for k in ("start", "end", "step") if k in params})
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                if form or body:
                    headers["Content-Type"] = self.headers.get("Content-Type") or \
                        "application/x-www-form-urlencoded"
                headers["Content-Length"] = str(len(body))
                t0 = time.perf_counter()
                for attempt in (0, 1):
                    conn = getattr(local, "conn", None)
                    if conn is None:
                        conn = local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
                    try:
                        conn.request(method, urllib.parse.urlunsplit(("", "", split.path, split.query, "")),
                                     body=body or None, headers=headers)
                        response = conn.getresponse()
                        payload = response.read()
                        break
                    except (http.client.HTTPException, OSError):
                        conn.close()
                        local.conn = None
                        if attempt:
                            raise
                record.update(status=response.status, bytes=len(payload), seconds=time.perf_counter() - t0)
                self.send_response(response.status)
                for k, v in response.getheaders():
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                record["overhead"] = time.perf_counter() - started - record["seconds"]
                with proxy.lock:
                    proxy.records.append(record)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

        super().__init__(Handler)

    def summary(self, end: int = END) -> dict[str, Any]:
        """What the queries were evaluated at: instant times, range ends (KRR's faked clock)."""
        instant = [r for r in self.records if r["path"].endswith("/api/v1/query")]
        ranges = [r for r in self.records if r["path"].endswith("/api/v1/query_range")]
        return {"requests": len(self.records), "instant_queries": len(instant),
                "instant_pinned_to_end": sum(bool(r.get("pinned")) for r in instant),
                "instant_times": sorted({r["time"] for r in instant}),
                "range_queries": [{k: r.get(k) for k in ("start", "end", "step")} for r in ranges],
                "range_end_minus_END_s": [round(r["end"] - end, 1) for r in ranges if "end" in r],
                "non_200": sum(r["status"] != 200 for r in self.records),
                "upstream_seconds_sum": sum(r["seconds"] for r in self.records),
                "proxy_overhead_seconds_sum": sum(r["overhead"] for r in self.records),
                "response_mib": sum(r["bytes"] for r in self.records) / MIB}


def enable_query_log(prom: Prometheus) -> Path:
    """Prometheus' own query log (evaluation start/end of every query) via a config reload."""
    log = prom.work / "query.log"
    config = prom.work / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1m\n  query_log_file: {log}\nscrape_configs: []\n")
    prom.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not log.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("Prometheus did not open its query log after SIGHUP")
        time.sleep(0.05)
    return log


def query_log_summary(log: Path) -> dict[str, Any]:
    """Distinct evaluation ends (and instant-query times) Prometheus itself logged."""
    ends: dict[str, int] = {}
    for line in log.read_text().splitlines():
        params = json.loads(line).get("params", {})
        ends[params.get("end", "?")] = ends.get(params.get("end", "?"), 0) + 1
    return {"logged_queries": sum(ends.values()), "evaluation_ends": ends}


# --------------------------------------------------------------------------- the timed run


def run_krr(prom: Prometheus, out_path: Path, *, krr: Path | None = None, fleet: dict[str, list[dict]] | None = None,
            end: int = END, extra: Iterable[str] = (), verbose: bool = False,
            timeout: float = 3600) -> dict[str, Any]:
    """One KRR ``simple`` process (its defaults: 336 h history, 1.25 min step) against ``prom`` through
    the query proxy, with the Kubernetes API stub; wall time, its peak RSS and Prometheus' RSS meanwhile
    (same keys as ``run_report``, ``krr_peak_rss_mib`` for the tool), Deployments recommended, and what
    the queries were evaluated at. ``fleet``: from :func:`fleet_from_cache` (else discovered from ``prom``
    itself before the clock starts, which pages in the last kube-state-metrics chunks)."""
    krr = krr or krr_path()
    env = faketime_env(end)
    if fleet is None:
        fleet = discover_fleet(prom.url, end)
    stub = KubeStub(fleet)
    proxy = QueryProxy(prom.url, end)
    prometheus_rss = PeakRss(prom.proc.pid)
    try:
        kubeconfig = stub.kubeconfig(prom.work / "kubeconfig.json")
        cmd = [str(krr), "simple", "-p", proxy.url, "-k", str(kubeconfig), "-f", "json",
               "--fileoutput", str(out_path), *(["-v", "--logtostderr"] if verbose else ["-q"]), *extra]
        prometheus_rss.start()
        stderr_path = prom.work / "krr.stderr"
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        with stderr_path.open("wb") as stderr:
            t0 = time.perf_counter()
            child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
                                     cwd=prom.work)
            killer = threading.Timer(timeout, child.kill)
            killer.start()
            try:
                _, status, usage = os.wait4(child.pid, 0)
            except BaseException:  # interrupted: leave no KRR behind
                child.kill()
                child.wait()
                raise
            finally:
                killer.cancel()
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        prometheus_rss.stop()
        print("  $ " + " ".join(cmd))
        if child.returncode != 0 or not out_path.exists():
            tail = stderr_path.read_text(errors="replace").strip().splitlines()[-20:]
            raise RuntimeError(f"krr exited {child.returncode}: " + "\n".join(tail))
        doc = json.loads(out_path.read_text())
        recs = parse_krr_json(doc)
        figures: dict[str, Any] = {
            "wall_seconds": wall, "krr_peak_rss_mib": usage.ru_maxrss / 1024,
            **prometheus_rss.figures(),
            "deployments_listed": len(fleet["deployments"]),
            "deployments_recommended": len(recs),
            "scans": len(doc.get("scans", [])),
            "krr_cpu_seconds": usage.ru_utime + usage.ru_stime,
            "harness_cpu_seconds": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
            "strategy_settings": {k: doc.get("strategy", {}).get("settings", {}).get(k)
                                  for k in ("history_duration", "timeframe_duration", "cpu_percentile",
                                            "memory_buffer_percentage", "points_required")},
            "errors": [e.get("name") for e in doc.get("errors", [])],
            "queries": proxy.summary(end),
            "kube_api_requests": len(stub.requests),
        }
        return figures
    finally:
        prometheus_rss.stop()
        proxy.close()
        stub.close()


# --------------------------------------------------------------------------- KRR's JSON


def _number(value: Any) -> float | None:
    if isinstance(value, dict):  # {"value": …, "severity": …}
        value = value.get("value")
    return float(value) if isinstance(value, int | float) else None  # "?" (no data) or null (unset)


def parse_krr_json(source: Path | str | dict) -> dict[tuple[str, str], tuple[int, int]]:
    """KRR's JSON (``-f json``) → {(namespace, deployment): (cpu request millicores, memory request bytes)}
    for the Deployments it recommended both (``"?"``, KRR's no-data mark, is left out). Containers of one
    Deployment are summed (the bench fleet has one). KRR's values are already rounded (CPU up to 1m,
    memory up to 1 MiB, floors 10m / 100 MiB)."""
    doc = source if isinstance(source, dict) else json.loads(Path(source).read_text())
    out: dict[tuple[str, str], tuple[int, int]] = {}
    skipped: set[tuple[str, str]] = set()
    for scan in doc.get("scans", []):
        obj = scan["object"]
        if obj.get("kind") != "Deployment":
            continue
        key = (obj["namespace"], obj["name"])
        requests = scan["recommended"]["requests"]
        cpu, mem = _number(requests.get("cpu")), _number(requests.get("memory"))
        if cpu is None or mem is None or key in skipped:
            skipped.add(key)
            out.pop(key, None)
            continue
        cpu_m, mem_b = round(cpu * 1000), round(mem)
        prev = out.get(key, (0, 0))
        out[key] = (prev[0] + cpu_m, prev[1] + mem_b)
    return out


def compare_with_report(krr: dict[tuple[str, str], tuple[int, int]], report: dict,
                        tolerance_m: int = 1, tolerance_mib: int = 1) -> tuple[int, int, list[str]]:
    """KRR's own numbers against a ``rikugame recommend -r krr-simple --format json`` report's rows:
    (rows within 1m / 1 MiB, Deployments compared, one line per other Deployment)."""
    rows = {(r["namespace"], r["workload"]): r for r in report["rows"] if r.get("kind", "Deployment") == "Deployment"}
    ok, misses = 0, []
    for key in sorted(set(krr) | set(rows)):
        name, row, ours = "/".join(key), rows.get(key), krr.get(key)
        if row is None:
            misses.append(f"{name}: KRR {ours}, no row in the report")
            continue
        sufficient = row.get("sufficient", True)
        if ours is None:
            if not sufficient:
                ok += 1
            else:
                misses.append(f"{name}: KRR gives none, the report recommends ({'; '.join(row['notes'])})")
            continue
        if not sufficient:
            misses.append(f"{name}: the report gives none ({'; '.join(row['notes'])}), KRR {ours}")
            continue
        cpu, mem = row["cpuRequestRecommendedMillicores"], row["memoryRequestRecommendedBytes"]
        if abs(cpu - ours[0]) <= tolerance_m and abs(-(-mem // MIB) - -(-ours[1] // MIB)) <= tolerance_mib:
            ok += 1
        else:
            misses.append(f"{name}: cpu {cpu}m vs KRR {ours[0]}m, memory {-(-mem // MIB)}Mi vs KRR "
                          f"{-(-ours[1] // MIB)}Mi ({'; '.join(row['notes']) or 'no note'})")
    return ok, len(set(krr) | set(rows)), misses


def _fmt(figures: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
                     if not isinstance(v, dict))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=2)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--ksm-interval", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="only used if the cache has to be built")
    parser.add_argument("--runs", type=int, default=1, help="KRR runs (fresh Prometheus each)")
    parser.add_argument("--krr", help=f"KRR's `krr` command (default: $RIKUGAME_KRR, else {DEFAULT_KRR})")
    parser.add_argument("--compare", action="store_true",
                        help="also one `rikugame recommend -r krr-simple` run (fresh Prometheus): ratios and "
                             "KRR's numbers against its rows")
    parser.add_argument("--query-log", action="store_true",
                        help="turn on Prometheus' query log in the first KRR run and print its evaluation times")
    parser.add_argument("--verbose", action="store_true", help="KRR's -v log to krr.stderr instead of -q")
    parser.add_argument("--arg", action="append", default=[], help="extra argument for krr simple (repeatable)")
    args = parser.parse_args()
    try:
        krr = krr_path(args.krr)
        faketime_lib()
    except FileNotFoundError as e:
        sys.exit(str(e))
    if shutil.which("prometheus") is None:
        sys.exit("prometheus not installed: apt-get install -y --no-install-recommends prometheus")
    cached = bench_recommend.cache_dir(args)
    if not (cached / "COMPLETE").exists() and not bench_recommend.promdata.data_path().exists():
        sys.exit(f"no cached fleet at {cached} and no trace to build it")
    tsdb = bench_recommend.prepare(args)
    fleet = fleet_from_cache(tsdb)
    print(f"fleet: {len(fleet['deployments'])} Deployments, {len(fleet['hpas'])} HPAs (kube-state-metrics at END)")
    results, first_recs = [], {}
    for i in range(args.runs):
        prom = Prometheus(tsdb)
        try:
            log = enable_query_log(prom) if args.query_log and i == 0 else None
            base = rss_kib(prom.proc.pid) / 1024
            out = prom.work / "krr.json"
            figures = run_krr(prom, out, krr=krr, fleet=fleet, extra=args.arg, verbose=args.verbose)
            figures["prometheus_rss_at_start_mib"] = base
            figures["prometheus_vmhwm_mib"] = rss_kib(prom.proc.pid, "VmHWM") / 1024
            if i == 0:
                first_recs = parse_krr_json(out)
                if log is not None:
                    figures["query_log"] = query_log_summary(log)
            results.append(figures)
            q = figures["queries"]
            print(f"run {i + 1}: " + _fmt(figures))
            print(f"  queries: {q['instant_queries']} instant ({q['instant_pinned_to_end']} pinned to time={END}, "
                  f"distinct times {q['instant_times']}), range ends - END = {q['range_end_minus_END_s']} s, "
                  f"non-200: {q['non_200']}, {q['response_mib']:.1f} MiB through the proxy (Prometheus "
                  f"{q['upstream_seconds_sum']:.1f} s summed over requests, proxy's own "
                  f"{q['proxy_overhead_seconds_sum']:.2f} s); strategy "
                  f"{figures['strategy_settings']}; errors {figures['errors']}")
            if "query_log" in figures:
                print(f"  Prometheus query log: {figures['query_log']}")
        finally:
            prom.stop()
    summary: dict[str, Any] = {"deployments": args.deployments, "pods": args.deployments * args.pods,
                               "krr_wall_seconds_median": statistics.median(r["wall_seconds"] for r in results),
                               "runs": results}
    if args.compare:
        prom = Prometheus(tsdb)
        try:
            out = prom.work / "report.json"
            ours = bench_recommend.run_report(prom, "krr-simple", None, out)
            report = json.loads(out.read_text())
        finally:
            prom.stop()
        ok, total, misses = compare_with_report(first_recs, report)
        krr_run = results[0]
        summary["rikugame_krr_simple"] = ours
        summary["ratios_rikugame_over_krr"] = {
            "wall": ours["wall_seconds"] / krr_run["wall_seconds"],
            "tool_peak_rss": ours["rikugame_peak_rss_mib"] / krr_run["krr_peak_rss_mib"],
            "prometheus_peak_rss": ours["prometheus_peak_rss_during_mib"] / krr_run["prometheus_peak_rss_during_mib"],
            "prometheus_peak_anon": ours["prometheus_peak_anon_mib"] / krr_run["prometheus_peak_anon_mib"]}
        print("rikugame -r krr-simple: " + _fmt(ours))
        print(f"KRR's own numbers vs rikugame's krr-simple rows: {ok} of {total} Deployments within 1m / 1Mi")
        for miss in misses:
            print("  differ:", miss)
    print(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
