"""Benchmark: ``rikugame recommend`` on the KRR-comparable fleet in a real Prometheus.

1,000 Deployments × 2 pods × 1 container, 14 days at 60 s, usage replayed from the shared Bitbrains trace
(``../shared/data/bitbrains_rnd``, GWA-T-12 "Rnd"; see its PROVENANCE.md and bench/promdata.py), with
kube-state-metrics-like owner, info, request/limit and phase series. The history is generated and
backfilled once into a cache directory (never the repository); every run starts Prometheus over a fresh
hard-linked copy and measures:

* wall time of each tool's process (start to exit, report written): ``rikugame recommend -r krr-simple``,
  ``rikugame recommend`` (the default recommender, ``rikugame``), ``--also`` others, and with ``--with-krr``
  Robusta KRR master's ``simple`` itself (bench/bench_krr.py), alternating in every round,
* number of queries, peak RSS of the tool's process (``wait4`` rusage),
* Prometheus' RSS: peak polled during the run (every 50 ms), total, anonymous and file-backed, and ``VmHWM``,
* agreement with independent references computed from the generated data: ``krr-simple`` with a
  KRR-equivalent (``promdata.krr_reference``, KRR master's queries) and with KRR's own output, the default
  with ``promdata.rikugame_reference`` (its documented rule, numpy only); every Deployment that disagrees is
  printed with the reason.

Usage: ``.venv/bin/python bench/bench_recommend.py [--deployments 1000] [--runs 3] [--with-krr]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import promdata

END = 1_767_225_600  # 2026-01-01T00:00:00Z
MIB = 2**20
ROOT = Path(__file__).resolve().parents[1]


def cache_dir(args: argparse.Namespace) -> Path:
    base = Path(os.environ.get("RIKUGAME_BENCH_CACHE", Path.home() / ".cache" / "rikugame-bench"))
    return base / f"recommend-v1-{args.deployments}x{args.pods}x{args.days}d-ksm{args.ksm_interval}"


def prepare(args: argparse.Namespace) -> Path:
    """The backfilled TSDB (built once; a COMPLETE stamp marks a finished build)."""
    target = cache_dir(args)
    stamp = target / "COMPLETE"
    if stamp.exists():
        print(f"data: cached {target} ({stamp.read_text().strip()})")
        return target / "tsdb"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    t0 = time.perf_counter()
    pods = promdata.bench_pods(args.deployments, end=END, days=args.days, pods_per_deployment=args.pods)
    t1 = time.perf_counter()
    files, lines = promdata.backfill(pods, target / "tsdb", start=END - args.days * 86400, end=END,
                                     ksm_interval=args.ksm_interval, workers=args.workers)
    t2 = time.perf_counter()
    blocks = compact(target / "tsdb")
    t3 = time.perf_counter()
    size = sum(f.stat().st_size for f in (target / "tsdb").rglob("*") if f.is_file())
    note = (f"{len(pods)} pods, {lines:,} OpenMetrics lines in {files} files, replay {t1 - t0:.1f} s, "
            f"generate+backfill {t2 - t1:.1f} s, compaction to {blocks} blocks {t3 - t2:.1f} s, "
            f"TSDB {size / MIB:.0f} MiB")
    stamp.write_text(note + "\n")
    print(f"data: built {target} ({note})")
    return target / "tsdb"


def blocks_in(tsdb: Path) -> int:
    return sum(1 for d in tsdb.iterdir() if (d / "meta.json").exists())


def compact(tsdb: Path) -> int:
    """Let Prometheus compact the 2-hour backfilled blocks as a long-running server would have (with
    the default 15-day retention, blocks grow to 18 h), so every run starts from the same layout."""
    prom = Prometheus(tsdb, copy=False)
    try:
        stable_since, last = time.monotonic(), blocks_in(tsdb)
        started = time.monotonic()
        while time.monotonic() - started < 900:
            time.sleep(5)
            now = blocks_in(tsdb)
            if now != last:
                stable_since, last = time.monotonic(), now
            elif time.monotonic() - started > 90 and time.monotonic() - stable_since > 30:
                break
    finally:
        prom.stop(keep=True)
    shutil.rmtree(tsdb / "wal", ignore_errors=True)
    shutil.rmtree(tsdb / "chunks_head", ignore_errors=True)
    return blocks_in(tsdb)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Prometheus:
    """A Prometheus over a hard-linked copy of the cached TSDB."""

    def __init__(self, tsdb: Path, *, copy: bool = True) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="rikugame-bench-prom-"))
        data = self.work / "data"
        if copy:
            shutil.copytree(tsdb, data, copy_function=os.link)
        else:
            data = tsdb
        config = self.work / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (self.work / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=15d"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError((self.work / "prometheus.log").read_text()[-2000:])
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus not ready after 60 s")
            time.sleep(0.05)

    def stop(self, keep: bool = False) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


class PeakRss:
    """A process' VmRSS, RssAnon and RssFile polled every 50 ms on a thread while the block runs."""

    FIELDS = ("VmRSS", "RssAnon", "RssFile")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = [rss_kib(pid, name) for name in self.FIELDS]
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._done.is_set():
            for k, name in enumerate(self.FIELDS):
                self.peak[k] = max(self.peak[k], rss_kib(self.pid, name))
            time.sleep(0.05)

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (again: no-op)."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> PeakRss:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def figures(self) -> dict[str, float]:
        """Prometheus' peaks in MiB, under the bench's keys."""
        return {"prometheus_peak_rss_during_mib": self.peak[0] / 1024,
                "prometheus_peak_anon_mib": self.peak[1] / 1024, "prometheus_peak_file_mib": self.peak[2] / 1024}


def run_report(prom: Prometheus, recommender: str, step: str | None, out: Path,
               extra: list[str] | None = None) -> dict[str, float]:
    """One ``rikugame recommend`` process; wall time, its peak RSS and Prometheus' RSS meanwhile."""
    cmd = [str(ROOT / ".venv" / "bin" / "rikugame"), "recommend", "-p", prom.url, "--end", str(END),
           "--history", "14d", *(["--step", step] if step else []), "--recommender", recommender,
           "--format", "json", "--output", str(out), *(extra or [])]
    with PeakRss(prom.proc.pid) as prometheus_rss:
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"rikugame recommend failed: {stderr.strip()}")
    print("  $ " + " ".join(cmd))
    return {"wall_seconds": wall, "tool_peak_rss_mib": usage.ru_maxrss / 1024, **prometheus_rss.figures()}


def explain(row: dict | None, ref: tuple[int, int] | None) -> str:
    """Why one Deployment's row differs from a reference (for the row-by-row listing)."""
    if row is None:
        return "no row in the report (no kube-state-metrics series for it)"
    notes = "; ".join(row["notes"])
    if ref is None:
        return f"the reference gives none (no data, or too little) but the report recommends ({notes or 'no note'})"
    if not row["sufficient"]:
        return f"the report gives none: {notes}"
    if "stale-metrics" in notes:
        return ("held by the stale-metrics guardrail: the pods' replayed trace ends more than an hour before "
                "the window does, so nothing is lowered (current values kept)")
    return "estimate differs (see the figures)"


def agreement(report: dict, reference: dict[tuple[str, str], tuple[int, int] | None], *,
              memory_tolerance_bytes: int = MIB) -> tuple[float, int, list[str]]:
    """Share of Deployments whose request is within 1m / ``memory_tolerance_bytes`` of the reference."""
    rows = {(r["namespace"], r["workload"]): r for r in report["rows"]}
    ok = 0
    misses: list[str] = []
    for key, ref in reference.items():
        row = rows.get(key)
        name = "/".join(key)
        if ref is None:  # no usage data at all: no recommendation either
            if row is not None and not row["sufficient"]:
                ok += 1
            else:
                misses.append(f"{name}: {explain(row, ref)}")
            continue
        cpu_m, mem_b = ref
        if row is None:
            misses.append(f"{name}: {explain(row, ref)}")
            continue
        ours_cpu = row["cpuRequestRecommendedMillicores"]
        ours_mem = row["memoryRequestRecommendedBytes"]
        if abs(ours_cpu - cpu_m) <= 1 and abs(ours_mem - mem_b) <= memory_tolerance_bytes:
            ok += 1
        else:
            misses.append(f"{name}: cpu {ours_cpu}m vs {cpu_m}m, memory {ours_mem / MIB:.1f}Mi vs "
                          f"{mem_b / MIB:.1f}Mi: {explain(row, ref)}")
    return ok / max(len(reference), 1), len(reference), misses


def krr_simple_reference(args: argparse.Namespace, pods: list) -> dict[tuple[str, str], tuple[int, int] | None]:
    """KRR master's ``simple`` from the data, memory in whole MiB as KRR rounds it."""
    return promdata.krr_reference(pods, end=END, history_seconds=args.days * 86400)


def timed_run(tsdb: Path, tool: str, args: argparse.Namespace) -> tuple[dict, dict]:
    """One timed run of ``tool`` (a recommender name, optionally NAME:STEP, or ``krr``) against a fresh
    Prometheus; returns (figures, the tool's report)."""
    prom = Prometheus(tsdb)
    try:
        out = prom.work / "report.json"
        base = rss_kib(prom.proc.pid) / 1024
        if tool == "krr":
            import bench_krr

            figures = bench_krr.run_krr(prom, out, end=END, krr=Path(args.krr) if args.krr else None,
                                        fleet=args.krr_fleet)
            figures["tool_peak_rss_mib"] = figures.pop("krr_peak_rss_mib")
            report = {"krr": bench_krr.parse_krr_json(out)}
        else:
            name, _, step = tool.partition(":")
            figures = run_report(prom, name, step or None, out, args.arg)
            report = json.loads(out.read_text())
            doc = report["report"]
            figures.update(queries=doc["queries"], stages=doc["stageSeconds"], step=doc.get("stepSeconds"))
        figures["prometheus_rss_at_start_mib"] = base
        figures["prometheus_vmhwm_mib"] = rss_kib(prom.proc.pid, "VmHWM") / 1024
        return figures, report
    finally:
        prom.stop()


FIGURES = (("wall_seconds", "wall s"), ("tool_peak_rss_mib", "tool RSS MiB"),
           ("prometheus_peak_rss_during_mib", "Prometheus peak MiB"), ("prometheus_peak_anon_mib", "anon"),
           ("prometheus_peak_file_mib", "file"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=2)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--ksm-interval", type=int, default=300,
                        help="kube-state-metrics sample interval in the generated data (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1,
                        help="rounds; each round runs every tool once, alternating, each on a fresh Prometheus")
    parser.add_argument("--also", action="append", default=[],
                        help="also time another recommender, NAME or NAME:STEP (default: its own step), "
                             "e.g. vpa or rikugame:1m")
    parser.add_argument("--with-krr", action="store_true",
                        help="time Robusta KRR `simple` in every round too (bench/bench_krr.py: KRR master, its "
                             "clock at the data's end) and compare krr-simple with KRR's own output")
    parser.add_argument("--krr", metavar="PATH", help="KRR's command (default: env RIKUGAME_KRR, else "
                                                      "/work/krr-venv/bin/krr)")
    parser.add_argument("--arg", action="append", default=[],
                        help="extra argument for rikugame recommend (repeatable), e.g. --arg=--concurrency=2")
    parser.add_argument("--no-agreement", action="store_true", help="skip the comparisons with the references")
    args = parser.parse_args()
    if shutil.which("prometheus") is None:
        sys.exit("prometheus not installed: apt-get install -y --no-install-recommends prometheus")
    if not promdata.data_path().exists():
        sys.exit(f"trace not found: {promdata.data_path()}")
    tsdb = prepare(args)
    tools = ["krr-simple", "rikugame", *args.also, *(["krr"] if args.with_krr else [])]
    args.krr_fleet = None
    if args.with_krr:
        import bench_krr

        try:
            bench_krr.krr_path(args.krr)  # one clear line now if KRR is missing, not after the first runs
        except FileNotFoundError as exc:
            sys.exit(str(exc))
        args.krr_fleet = bench_krr.fleet_from_cache(tsdb)  # on a throwaway Prometheus: the timed ones start cold
    results: dict[str, list[dict]] = {t: [] for t in tools}
    reports: dict[str, dict] = {}
    for i in range(args.runs):
        for tool in tools:
            figures, report = timed_run(tsdb, tool, args)
            results[tool].append(figures)
            reports.setdefault(tool, report)
            print(f"round {i + 1} {tool}: " + ", ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()), flush=True)
    summary = {t: {key: float(np.median([r[key] for r in rs])) for key, _ in FIGURES} for t, rs in results.items()}
    krr = summary.get("krr")
    print(f"\nmedians over {args.runs} round(s), {args.deployments} Deployments × {args.pods} pods:")
    print("| tool | " + " | ".join(label for _, label in FIGURES) + " |" + (" wall / KRR |" if krr else ""))
    for tool, figs in summary.items():
        ratio = f" {figs['wall_seconds'] / krr['wall_seconds']:.3f} |" if krr else ""
        print(f"| {tool} | " + " | ".join(f"{figs[key]:.1f}" for key, _ in FIGURES) + " |" + ratio)
    # After every timed run: the references need ~2 GB here, and a child forked from a big parent
    # would report the parent's RSS as its own peak.
    if not args.no_agreement:
        pods = promdata.bench_pods(args.deployments, end=END, days=args.days, pods_per_deployment=args.pods)
        checks = [("krr-simple", "the KRR-equivalent (KRR master's queries at 75 s, computed from the data)",
                   krr_simple_reference(args, pods), 2 * MIB),
                  ("rikugame", "the rikugame reference (its documented rule, computed from the data with numpy)",
                   promdata.rikugame_reference(pods, end=END, history_seconds=args.days * 86400), MIB)]
        if "krr" in reports:
            checks.append(("krr-simple", "KRR's own output", reports["krr"]["krr"], 2 * MIB))
        for tool, what, reference, tolerance in checks:
            share, total, misses = agreement(reports[tool], reference, memory_tolerance_bytes=tolerance)
            held = sum("stale-metrics" in m for m in misses)
            print(f"{tool} agreement with {what}: {100 * share:.1f}% of {total} Deployments within 1m / "
                  f"{tolerance // MIB}Mi; of the {len(misses)} others, {held} are held by the stale-metrics "
                  "guardrail")
            for miss in misses:
                print("  disagree:", miss)
    print(json.dumps({"deployments": args.deployments, "pods": args.deployments * args.pods,
                      "medians": summary, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
