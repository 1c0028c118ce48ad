"""The operator process: the reconcile loop on its interval, ``/healthz`` and ``/metrics`` over HTTP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import logging
import signal
import ssl
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from rikugame.operator.access import ClusterAccess, HistorySource, LeaderElection
from rikugame.operator.pods import owner_workload
from rikugame.operator.reconciler import CycleReport, Reconciler, TunerRuntime
from rikugame.operator.settings import OperatorSettings
from rikugame.operator.webhook import WebhookTLS, review_response

log = logging.getLogger("rikugame.operator")


class OperatorMetrics:
    """The operator's Prometheus metrics (one registry per process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycles = Counter("rikugame_cycles", "Reconcile cycles run.", registry=r)
        self.cycle_seconds = Histogram("rikugame_cycle_seconds", "Wall time of one reconcile cycle.", registry=r)
        self.tuners = Gauge("rikugame_tuners", "Tuners seen in the last cycle.", registry=r)
        self.actions = Counter("rikugame_actions", "Actions by outcome.", ["outcome"], registry=r)
        self.ooms = Counter("rikugame_oom_kills", "OOM kills seen (each counted once).", registry=r)
        self.errors = Counter("rikugame_errors", "Errors of a Tuner's reconcile.", registry=r)
        self.writes = Counter("rikugame_writes", "Writes to the API server by kind.", ["kind"], registry=r)
        self.samples = Counter("rikugame_samples", "Usage samples fed to the decision core.", registry=r)
        self.leader = Gauge("rikugame_leader", "1 while this replica holds the Lease.", registry=r)
        self.resize_seconds = Histogram(
            "rikugame_resize_seconds", "From sending an in-place resize to the kubelet reporting it done.",
            buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600), registry=r)
        self.phases = Gauge("rikugame_tuners_by_phase", "Tuners per phase (Emergency: metrics missing or "
                                                       "mode Emergency).", ["phase"], registry=r)
        self.requests = Gauge("rikugame_container_request", "Per Tuner and container: the recommendation "
                                                            "(before guardrails) and the decision, in cores "
                                                            "and bytes.",
                              ["namespace", "tuner", "container", "resource", "value"], registry=r)

    def record(self, report: CycleReport, tuners: Iterable[TunerRuntime] = ()) -> None:
        """Account one cycle (and publish every Tuner's phase and requests)."""
        self.cycles.inc()
        self.cycle_seconds.observe(report.seconds)
        self.tuners.set(report.tuners)
        for seconds in report.resize_seconds:
            self.resize_seconds.observe(seconds)
        self.phases.clear()
        self.requests.clear()
        for rt in tuners:
            if rt.status is not None and rt.status.phase is not None:
                self.phases.labels(rt.status.phase.value).inc()
            if rt.decision is None:
                continue
            for c in rt.decision.containers:
                for resource, proposed, decided in (
                        ("cpu", c.proposed_cpu_millicores / 1000, c.decided.cpu_request_millicores / 1000),
                        ("memory", c.proposed_memory_bytes, c.decided.memory_request_bytes)):
                    self.requests.labels(rt.namespace, rt.name, c.name, resource, "recommended").set(proposed)
                    self.requests.labels(rt.namespace, rt.name, c.name, resource, "decided").set(decided)
        self.actions.labels("resized").inc(report.resized_pods)
        self.actions.labels("rolling_restart").inc(report.rolling_restarts)
        self.actions.labels("refused").inc(report.refused_resizes)
        self.ooms.inc(report.oom_kills)
        self.errors.inc(len(report.errors))
        self.writes.labels("status").inc(report.status_writes)
        self.writes.labels("checkpoint").inc(report.checkpoint_writes)
        self.samples.inc(report.samples)


class OperatorService:
    """Runs ``Reconciler.cycle`` every ``metrics_interval_seconds`` and serves health and metrics."""

    def __init__(self, access: ClusterAccess, settings: OperatorSettings,
                 election: LeaderElection | None = None, webhook_template: dict[str, Any] | None = None,
                 history: HistorySource | None = None) -> None:
        """``webhook_template``: the MutatingWebhookConfiguration deploy/ installs (``rikugame manifests``);
        the operator applies it with its own clientConfig and caBundle when it serves the webhook.
        ``history``: where new Tuners' past usage is read (``--prometheus``)."""
        self.webhook_template = webhook_template
        self.settings = settings
        self.access = access
        self.election = election
        self.leader = election is None
        self.reconciler = Reconciler(access, settings, history=history)
        self.metrics = OperatorMetrics()
        self.last_success = time.monotonic()

    async def keep_leadership(self, stop: asyncio.Event) -> None:
        """Acquire or renew the Lease every third of its duration; a replica that loses it forgets its
        in-memory state (the next leader, maybe this one again, starts from the checkpoints)."""
        assert self.election is not None
        while not stop.is_set():
            try:
                leader = await self.election.acquire_or_renew()
            except Exception:
                log.exception("lease renewal failed")
                leader = False
            if leader != self.leader:
                log.info("leadership %s", "acquired" if leader else "lost")
                if not leader:
                    self.reconciler.tuners.clear()
                    self.reconciler.by_workload.clear()
                self.leader = leader
                self.metrics.leader.set(1 if leader else 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.election.duration_seconds / 3)

    def healthy(self) -> bool:
        """False when no cycle has completed for three intervals (the loop stalled)."""
        return time.monotonic() - self.last_success < 3 * self.settings.metrics_interval_seconds + 30

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n" if self.healthy() else "reconcile loop stalled\n",
                            status=200 if self.healthy() else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _mutate(self, request: web.Request) -> web.Response:
        review = await request.json()
        pod = (review.get("request") or {}).get("object") or {}
        meta = pod.setdefault("metadata", {})
        meta.setdefault("namespace", (review.get("request") or {}).get("namespace", ""))
        workload = owner_workload(pod, self.reconciler.rs_owners)
        if workload is None and (rs := _replicaset_of(meta)) is not None:
            # A ReplicaSet made since the last cycle (a rollout, the operator's own rolling restart): look it up.
            try:
                owner = await self.access.replicaset_owner(meta["namespace"], rs)
            except Exception:  # the pod is admitted unchanged (as with failurePolicy Ignore), not refused
                log.exception("admission: ReplicaSet %s/%s not readable", meta["namespace"], rs)
                owner = None
            if owner is not None:
                self.reconciler.rs_owners[(meta["namespace"], rs)] = owner
                workload = owner_workload(pod, self.reconciler.rs_owners)
        answer = review_response(review, workload, self.reconciler.decided_for)
        patched = "patch" in answer["response"]
        if patched:
            self.metrics.actions.labels("admitted").inc()
        log.info("admission of a pod of %s: %s", "/".join(workload) if workload else "no tuned workload",
                 "resources set" if patched else "unchanged")
        return web.json_response(answer)

    async def _start_webhook(self, host: str, tls: WebhookTLS | None) -> web.AppRunner | None:
        s = self.settings
        if s.webhook_port is None or tls is None or self.webhook_template is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            cert_file, key_file = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
            cert_file.write_bytes(tls.cert_pem)
            key_file.write_bytes(tls.key_pem)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_file, key_file)
        app = web.Application()
        app.router.add_post("/mutate", self._mutate)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, host, s.webhook_port, ssl_context=context).start()
        client_config: dict[str, Any] = {"caBundle": base64.b64encode(tls.ca_pem).decode()}
        if s.webhook_url:
            client_config["url"] = s.webhook_url
        else:
            client_config["service"] = {"namespace": s.namespace, "name": s.webhook_service, "path": "/mutate",
                                        "port": 443}
        body = copy.deepcopy(self.webhook_template)
        body["metadata"] = {"name": s.webhook_configuration}
        for hook in body["webhooks"]:
            hook["clientConfig"] = client_config
        await self.access.apply_webhook_configuration(body)
        log.info("serving the mutating webhook on %s:%d", host, s.webhook_port)
        return runner

    async def run(self, *, host: str = "0.0.0.0", port: int = 8080, cycles: int | None = None,
                  tls: WebhookTLS | None = None) -> None:
        """Serve and loop (``cycles``: stop after that many, for tests; ``tls``: serve the webhook)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("serving /healthz and /metrics on %s:%d", host, port)
        hook = await self._start_webhook(host, tls)
        done = 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        renewer = asyncio.create_task(self.keep_leadership(stop)) if self.election is not None else None
        try:
            while (cycles is None or done < cycles) and not stop.is_set():
                started = time.monotonic()
                if not self.leader:  # a standby serves the webhook and waits for the Lease
                    self.last_success = time.monotonic()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
                    continue
                try:
                    report = await self.reconciler.cycle()
                except Exception:
                    log.exception("reconcile cycle failed")
                else:
                    self.metrics.record(report, self.reconciler.tuners.values())
                    self.last_success = time.monotonic()
                    log.info("cycle: %d tuners, %d samples, %d resized, %d refused, %d OOM, %d status, "
                             "%d checkpoints, %d errors in %.2f s", report.tuners, report.samples,
                             report.resized_pods, report.refused_resizes, report.oom_kills, report.status_writes,
                             report.checkpoint_writes, len(report.errors), report.seconds)
                    for error in report.errors:
                        log.warning("%s", error)
                done += 1
                if cycles is not None and done >= cycles:
                    break
                wait = max(0.0, self.settings.metrics_interval_seconds - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            stop.set()
            written = await self.reconciler.flush_checkpoints() if self.leader else 0
            log.info("stopping: %d checkpoints written", written)
            if renewer is not None:
                await renewer
                if self.leader and self.election is not None:
                    await self.election.release()
            await runner.cleanup()
            if hook is not None:
                await hook.cleanup()


def _replicaset_of(meta: dict[str, Any]) -> str | None:
    """The name of the ReplicaSet controlling a pod (None: another controller, or none)."""
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "ReplicaSet":
            return str(ref.get("name", ""))
    return None
