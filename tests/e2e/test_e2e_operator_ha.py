"""Two `rikugame operator` processes with exactly the generated role: one leader, failover, one webhook CA."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_workloads import eventually, oversized_deployment
from kubernetes_asyncio.client import (
    AdmissionregistrationV1Api,
    ApiClient,
    AppsV1Api,
    CoordinationV1Api,
    CoreV1Api,
    CustomObjectsApi,
)
from kubernetes_asyncio.client.exceptions import ApiException
from operator_process import OperatorProcess, free_port

from kubeharness.cluster import Cluster
from kubeharness.kubectl import kubectl
from operator_role import apply_operator_role
from rikugame.cluster.names import GROUP, TUNERS, VERSION
from rikugame.manifests.install import WEBHOOK_SECRET, mutating_webhook

pytestmark = pytest.mark.e2e
LEASE_SECONDS = 15  # cluster.lease.LeaseLock's default duration


async def _holder(api: ApiClient, namespace: str) -> str:
    """The Lease's holder ("" while there is no Lease yet)."""
    try:
        lease = await CoordinationV1Api(api).read_namespaced_lease("rikugame-operator", namespace)
    except ApiException as exc:
        if exc.status == 404:
            return ""
        raise
    return str(lease.spec.holder_identity or "")


async def test_two_operators_one_leader_failover_within_the_lease_and_one_shared_webhook_ca(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path, tmp_path: Path) -> None:
    role = apply_operator_role(e2e_cluster, tmp_path)
    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await apps.create_namespaced_deployment(namespace, oversized_deployment("shop"))
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Tuner", "metadata": {"name": "shop"},
        "spec": {"targetRef": {"kind": "Deployment", "name": "shop"}, "mode": "Auto"}})

    def start(name: str) -> OperatorProcess:
        port = free_port()
        return OperatorProcess(role, namespace, tmp_path / f"{name}.log", "--webhook-port", str(port),
                               "--webhook-url", f"https://127.0.0.1:{port}/mutate")

    # What deploy/ installs (the operator may only get and patch its own webhook configuration, never create
    # one), with a URL client config as for an operator run outside the cluster.
    hooks_api = AdmissionregistrationV1Api(kube_api)
    installed = mutating_webhook(role.namespace)
    installed["webhooks"][0]["clientConfig"] = {"url": "https://127.0.0.1:1/mutate"}
    await hooks_api.create_mutating_webhook_configuration(installed)
    first = start("first")
    second: OperatorProcess | None = None
    try:
        async def first_leads_and_acted() -> Any:
            tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "shop")
            holder = await _holder(kube_api, role.namespace)
            return tuner if holder.startswith(first.identity_prefix) and \
                (tuner.get("status") or {}).get("phase") == "Working" else None

        await eventually(first_leads_and_acted, "the first operator to lead and resize", timeout=150, interval=1)
        second = start("second")
        second_ready = second  # for the closure

        async def second_serves() -> bool:
            return "serving the mutating webhook" in second_ready.output()

        await eventually(second_serves, "the second operator to serve its webhook", timeout=60, interval=1)
        assert (await _holder(kube_api, role.namespace)).startswith(first.identity_prefix), "one leader"
        assert "leadership acquired" not in second.output(), "the second one stands by"

        secret = await core.read_namespaced_secret(WEBHOOK_SECRET, role.namespace)
        hooks = await hooks_api.read_mutating_webhook_configuration("rikugame")
        assert hooks.webhooks[0].client_config.ca_bundle == secret.data["ca.crt"], \
            "both replicas serve with the CA of the shared Secret, so the caBundle fits whichever wrote it"
        assert base64.b64decode(secret.data["ca.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")

        killed = time.monotonic()
        await first.stop(signal.SIGKILL)  # a crash: no flush, no Lease release

        async def second_leads() -> bool:
            return (await _holder(kube_api, role.namespace)).startswith(second_ready.identity_prefix)

        await eventually(second_leads, "the standby to take the Lease over", timeout=3 * LEASE_SECONDS, interval=0.5)
        handover = time.monotonic() - killed
        print(f"\nleader SIGKILLed → standby holds the Lease after {handover:.1f} s (lease {LEASE_SECONDS} s)")
        assert handover <= LEASE_SECONDS + LEASE_SECONDS / 3 + 2, "handover within the lease duration"

        async def second_restored_and_cycled() -> bool:
            out = second_ready.output()
            return "state restored from its checkpoint" in out and "cycle: 1 tuners" in out

        await eventually(second_restored_and_cycled, "the new leader to restore the Tuner's state and act",
                         timeout=60, interval=1)
    finally:
        codes = [await p.stop() for p in (first, second) if p is not None]
        with contextlib.suppress(ApiException):
            await AdmissionregistrationV1Api(kube_api).delete_mutating_webhook_configuration("rikugame")
        kubectl(e2e_cluster, "delete", "--wait=false", "-f", str(role.rbac_file))
    output = second.output()
    assert codes[-1] == 0, output[-3000:]
    assert "Traceback" not in output and "Forbidden" not in output, output[-3000:]
    checkpoint = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "tunercheckpoints", "shop")
    assert json.loads(checkpoint["spec"]["data"])["containers"] == ["app"]
