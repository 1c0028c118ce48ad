"""The operator on the real control plane: the generated CRDs, kwok pods, real metrics-server, pods/resize.

The Reconciler runs in the test process against the real API server through ``KubeAccess`` with admin
credentials (running it as a process with exactly deploy/'s role is still to come). Cycles are driven by
the test, so every assertion waits on real data, not on a timer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_workloads import eventually, oversized_deployment
from kubernetes_asyncio.client import ApiClient, AppsV1Api, CoreV1Api, CustomObjectsApi
from operator_process import cycle_until, running_pod, tuner_manifest

from kubeharness.cluster import Cluster
from kubeharness.kwok import USAGE_CPU
from rikugame.cluster.kube_access import KubeAccess
from rikugame.cluster.names import GROUP, TUNERS, VERSION
from rikugame.commands.persist import _persist
from rikugame.operator.reconciler import CycleReport, Reconciler
from rikugame.operator.settings import OperatorSettings

pytestmark = pytest.mark.e2e
MIB = 2**20








async def test_operator_recommends_in_off_and_resizes_in_place_in_auto_then_restores_its_state(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await apps.create_namespaced_deployment(namespace, oversized_deployment("web"))
    before = await running_pod(core, namespace, "web")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, tuner_manifest("web", "web", "Off"))
    settings = OperatorSettings(metrics_interval_seconds=5, namespace=namespace, watch_namespaces=(namespace,))
    reconciler = Reconciler(KubeAccess(kube_api), settings)

    async def status_has_samples(report: CycleReport) -> bool:
        return report.samples > 0

    await cycle_until(reconciler, status_has_samples, "pod metrics to reach the operator")
    tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "web")
    status = tuner["status"]
    assert status["phase"] == "Recommending" and status["mode"] == "Off" and status["target"] == "Deployment/web"
    app = status["containers"][0]
    assert app["name"] == "app" and app["current"]["cpu"] == "500m"
    assert app["decided"]["cpu"] == "350m", app  # 100m used; a decrease may take 30 % per step
    assert "SCALE_DOWN_STEP_LIMIT" in app["reasons"]["cpu"]
    pod = await core.read_namespaced_pod(before.metadata.name, namespace)
    assert pod.spec.containers[0].resources.requests["cpu"] == "500m", "Off never changes a workload"

    await custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "web", {"spec": {"mode": "Auto"}},
                                                _content_type="application/merge-patch+json")

    async def resized(report: CycleReport) -> bool:  # this pod: other tests' Tuners may be cycled too
        pod = await core.read_namespaced_pod(before.metadata.name, namespace)
        return bool(pod.spec.containers[0].resources.requests["cpu"] != "500m")

    await cycle_until(reconciler, resized, "an in-place resize in Auto")
    pod = await core.read_namespaced_pod(before.metadata.name, namespace)
    assert pod.metadata.uid == before.metadata.uid, "resized in place, not replaced"
    assert pod.spec.containers[0].resources.requests["cpu"] == "350m"
    # memory: peak 40Mi + max(10 %, min(512Mi, peak)) = 80Mi, raised at once; the limit (= request) follows
    assert pod.spec.containers[0].resources.requests["memory"] == "80Mi"
    assert pod.spec.containers[0].resources.limits["memory"] == "80Mi"
    tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "web")
    assert tuner["status"]["phase"] == "Working"
    assert tuner["status"]["lastActions"][-1]["what"] == f"resize {before.metadata.name}/app"
    assert tuner["status"]["lastActions"][-1]["from"].startswith("cpu 500m")

    checkpoint = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "tunercheckpoints", "web")
    data = json.loads(checkpoint["spec"]["data"])
    assert data["containers"] == ["app"]
    seen = reconciler.tuners[(namespace, "web")].tuning.vertical.recommender.coverage.count[0]
    restarted = Reconciler(KubeAccess(kube_api), settings)
    report = await restarted.cycle()
    assert not report.errors, report.errors
    restored = restarted.tuners[(namespace, "web")].tuning
    assert restored.vertical.recommender.coverage.count[0] >= seen > 0, "history survives a restart"
    assert restored.vertical.current_cpu_millicores[0] == 350
    assert report.resized_pods == 0, "nothing to redo after a restart"

    message = await _persist(e2e_cluster.kubeconfig, namespace, "web", dry_run=False)
    assert message.startswith("patched Deployment/web")
    template = (await apps.read_namespaced_deployment("web", namespace)).spec.template.spec.containers[0]
    assert template.resources.requests["cpu"] == "350m", "persist wrote the decision into the pod template"


async def test_kill_switch_configmap_stops_every_resize(e2e_cluster: Cluster, kube_api: ApiClient,
                                                        namespace: str, crds: Path) -> None:
    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await core.create_namespaced_config_map(namespace, {"metadata": {"name": "rikugame-kill-switch"},
                                                        "data": {"killSwitch": "true"}})
    await apps.create_namespaced_deployment(namespace, oversized_deployment("api"))
    before = await running_pod(core, namespace, "api")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS,
                                                 tuner_manifest("api", "api", "Auto"))
    reconciler = Reconciler(KubeAccess(kube_api), OperatorSettings(namespace=namespace,
                                                                  watch_namespaces=(namespace,)))

    async def decided_a_shrink(report: CycleReport) -> bool:
        tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "api")
        containers = tuner.get("status", {}).get("containers", [])
        return bool(containers) and containers[0]["decided"]["cpu"] == "350m"

    report = await cycle_until(reconciler, decided_a_shrink, "a decided shrink")
    assert report.resized_pods == 0
    tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "api")
    actuating = next(c for c in tuner["status"]["conditions"] if c["type"] == "Actuating")
    assert actuating["status"] == "False" and actuating["reason"] == "KillSwitch"
    pod = await core.read_namespaced_pod(before.metadata.name, namespace)
    assert pod.spec.containers[0].resources.requests["cpu"] == "500m"


async def test_operator_creates_the_hpa_by_server_side_apply_and_the_real_controller_scales(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    from kubernetes_asyncio.client import AutoscalingV2Api

    apps, custom, autoscaling = AppsV1Api(kube_api), CustomObjectsApi(kube_api), AutoscalingV2Api(kube_api)
    busy = oversized_deployment("busy")
    busy["spec"]["template"]["metadata"]["annotations"][USAGE_CPU] = "450m"  # 90 % of the 500m request
    await apps.create_namespaced_deployment(namespace, busy)
    await running_pod(CoreV1Api(kube_api), namespace, "busy")
    tuner = tuner_manifest("busy", "busy", "Auto")
    tuner["spec"]["horizontal"] = {"recommender": "static", "gatheringSeconds": 0, "targetUtilizationPercent": 50,
                                   "minReplicas": 1, "minReplicasFloor": 1, "maxReplicas": 4}
    tuner["spec"]["vertical"] = {"scaleDownIntervalSeconds": 86400}  # hold requests still after the first step
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, tuner)
    reconciler = Reconciler(KubeAccess(kube_api), OperatorSettings(namespace=namespace,
                                                                  watch_namespaces=(namespace,)))

    async def hpa_written(report: CycleReport) -> bool:
        return report.hpa_writes > 0

    await cycle_until(reconciler, hpa_written, "the operator to apply the HPA")
    hpa = await autoscaling.read_namespaced_horizontal_pod_autoscaler("busy", namespace)
    assert hpa.spec.min_replicas == 1
    assert hpa.spec.metrics[0].resource.target.average_utilization == 50
    assert any(m.manager == "rikugame" and m.operation == "Apply" for m in hpa.metadata.managed_fields)

    async def scaled_up() -> Any:
        d = await apps.read_namespaced_deployment("busy", namespace)
        return d if (d.spec.replicas or 0) > 1 else None

    await eventually(scaled_up, "the real HPA controller to scale the Deployment up", timeout=120, interval=3)


async def test_a_new_pod_of_a_resized_workload_starts_with_the_decided_resources_from_the_webhook(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    import socket

    from rikugame.cluster.certs import serving_certificate
    from rikugame.manifests.install import mutating_webhook
    from rikugame.operator.service import OperatorService
    from rikugame.operator.webhook import WebhookTLS

    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await apps.create_namespaced_deployment(namespace, oversized_deployment("shop"))
    first = await running_pod(core, namespace, "shop")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS,
                                                 tuner_manifest("shop", "shop", "Auto"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = OperatorSettings(namespace=f"{namespace}-operator", webhook_port=port, watch_namespaces=(namespace,),
                                webhook_url=f"https://127.0.0.1:{port}/mutate",
                                webhook_configuration=f"rikugame-{namespace}")
    cert = serving_certificate(["rikugame-webhook"], ["127.0.0.1"])
    template = mutating_webhook(settings.namespace)
    template["metadata"]["name"] = settings.webhook_configuration
    service = OperatorService(KubeAccess(kube_api), settings, webhook_template=template)
    hook = await service._start_webhook("127.0.0.1", WebhookTLS(cert.cert_pem, cert.key_pem, cert.ca_pem))
    assert hook is not None
    try:
        async def resized(report: CycleReport) -> bool:  # this pod: other tests' Tuners may be cycled too
            pod = await core.read_namespaced_pod(first.metadata.name, namespace)
            return bool(pod.spec.containers[0].resources.requests["cpu"] == "350m")

        await cycle_until(service.reconciler, resized, "an in-place resize of the shop pod")
        # The API server picks a new webhook configuration up asynchronously: wait until a server-side dry run
        # of a pod of the same ReplicaSet comes back mutated, so the scale-up below is not a race.
        probe_pod = {"metadata": {"generateName": "probe-", "ownerReferences": [
            {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "uid": ref.uid, "controller": True}
            for ref in first.metadata.owner_references]},
            "spec": {"nodeSelector": {"type": "kwok"}, "containers": [{
                "name": "app", "image": "registry.invalid/app:1",
                "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"memory": "64Mi"}}}]}}

        async def webhook_effective() -> bool:
            dry = await core.create_namespaced_pod(namespace, probe_pod, dry_run="All")
            return dry.spec.containers[0].resources.requests["cpu"] == "350m"

        await eventually(webhook_effective, "the API server to call the webhook", timeout=60)
        await apps.patch_namespaced_deployment_scale("shop", namespace, {"spec": {"replicas": 2}})

        async def second_pod() -> Any:
            pods = (await core.list_namespaced_pod(namespace, label_selector="app=shop")).items
            new = [p for p in pods if p.metadata.uid != first.metadata.uid]
            return new[0] if new else None

        pod = await eventually(second_pod, "the scale-up's new pod", timeout=60)
        assert pod.spec.containers[0].resources.requests["cpu"] == "350m", "decided by the webhook, not the template"
        assert pod.spec.containers[0].resources.requests["memory"] == "80Mi"
        template = (await apps.read_namespaced_deployment("shop", namespace)).spec.template.spec.containers[0]
        assert template.resources.requests["cpu"] == "500m", "the pod template itself is not changed"
    finally:
        await hook.cleanup()
        from kubernetes_asyncio.client import AdmissionregistrationV1Api

        await AdmissionregistrationV1Api(kube_api).delete_mutating_webhook_configuration(f"rikugame-{namespace}")


async def test_operator_process_with_exactly_the_generated_role_resizes_in_place_and_checkpoints_on_stop(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path, tmp_path: Path) -> None:
    """`rikugame operator` as a process, authenticated as the ServiceAccount of `rikugame manifests`
    (its ClusterRole and Role, applied with kubectl), leader election on: it must be allowed all it does."""
    import socket
    import time

    from operator_process import OperatorProcess

    from kubeharness.kubectl import kubectl
    from operator_role import apply_operator_role

    role = apply_operator_role(e2e_cluster, tmp_path)
    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await apps.create_namespaced_deployment(namespace, oversized_deployment("cart"))
    before = await running_pod(core, namespace, "cart")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS,
                                                 tuner_manifest("cart", "cart", "Auto"))
    created = time.monotonic()
    process = OperatorProcess(role, namespace, tmp_path / "operator.log", "--webhook-port", "0")
    try:
        async def resized() -> Any:
            pod = await core.read_namespaced_pod(before.metadata.name, namespace)
            return pod if pod.spec.containers[0].resources.requests["cpu"] == "350m" else None

        pod = await eventually(resized, "the operator process to resize the pod in place", timeout=150, interval=1)
        print(f"\nTuner created → first in-place resize by the operator process: {time.monotonic() - created:.1f} s "
              f"(process start included, --metrics-interval 5s)")
        assert pod.metadata.uid == before.metadata.uid
        tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "cart")
        assert tuner["status"]["phase"] == "Working"
        lease = await e2e_cluster_lease(kube_api, role.namespace)
        assert lease.startswith(socket.gethostname()), "the process took the Lease"
    finally:
        code = await process.stop()
        kubectl(e2e_cluster, "delete", "--wait=false", "-f", str(role.rbac_file))
    output = process.output()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output and "403" not in output and "Forbidden" not in output, output[-3000:]
    assert "checkpoints written" in output
    checkpoint = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "tunercheckpoints", "cart")
    assert json.loads(checkpoint["spec"]["data"])["containers"] == ["app"]


async def e2e_cluster_lease(api: ApiClient, namespace: str) -> str:
    """The holder of the operator's Lease in ``namespace``."""
    from kubernetes_asyncio.client import CoordinationV1Api

    lease = await CoordinationV1Api(api).read_namespaced_lease("rikugame-operator", namespace)
    return str(lease.spec.holder_identity or "")
