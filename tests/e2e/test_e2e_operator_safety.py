"""The operator's safety paths on the real control plane: an OOM kill (kwok stage), metrics-server
stopped and restarted (Emergency, then BackToNormal), and an HPA owned by a KEDA ScaledObject.

The Reconciler runs in the test process with admin credentials; cycles are driven by the test, so every
assertion waits on real data (the process with exactly deploy/'s role is in test_e2e_operator*.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_workloads import deployment, eventually, oversized_deployment
from kubernetes_asyncio.client import (
    ApiClient,
    ApiextensionsV1Api,
    AppsV1Api,
    AutoscalingV2Api,
    CoreV1Api,
    CustomObjectsApi,
)
from operator_process import cycle_until, running_pod, tuner_manifest

from kubeharness.cluster import Cluster
from rikugame.cluster.kube_access import KubeAccess
from rikugame.cluster.names import GROUP, TUNERS, VERSION
from rikugame.core.quantities import memory_bytes
from rikugame.operator.reconciler import CycleReport, Reconciler
from rikugame.operator.settings import OperatorSettings

pytestmark = pytest.mark.e2e
OOM_ANNOTATION = "rikugame.test/oom-kill"








def _settings(namespace: str) -> OperatorSettings:
    return OperatorSettings(metrics_interval_seconds=5, namespace=namespace, watch_namespaces=(namespace,),
                            emergency_after_seconds=20)


async def test_an_oom_kill_from_kwok_raises_memory_within_one_metrics_interval(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await apps.create_namespaced_deployment(namespace, oversized_deployment("db"))
    pod = await running_pod(core, namespace, "db")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, tuner_manifest("db", "db", "Auto"))
    reconciler = Reconciler(KubeAccess(kube_api), _settings(namespace))

    async def settled(report: CycleReport) -> bool:  # the first resize (CPU down, memory to 80Mi) is done
        p = await core.read_namespaced_pod(pod.metadata.name, namespace)
        return bool(p.spec.containers[0].resources.requests["memory"] == "80Mi")

    await cycle_until(reconciler, settled, "the first in-place resize")
    await core.patch_namespaced_pod(pod.metadata.name, namespace,
                                    {"metadata": {"annotations": {OOM_ANNOTATION: "now"}}})

    async def killed() -> Any:
        p = await core.read_namespaced_pod(pod.metadata.name, namespace)
        last = p.status.container_statuses[0].last_state
        return p if last is not None and last.terminated is not None else None

    await eventually(killed, "kwok (pod-oom-kill stage) to report the OOM kill", timeout=30)
    report = await reconciler.cycle()  # the next cycle: one metrics interval
    assert not report.errors, report.errors
    assert report.oom_kills == 1 and report.resized_pods == 1, "memory is raised in the cycle that sees the kill"
    after = await core.read_namespaced_pod(pod.metadata.name, namespace)
    assert after.metadata.uid == pod.metadata.uid, "in place"
    assert memory_bytes(after.spec.containers[0].resources.requests["memory"]) > memory_bytes("80Mi")
    tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "db")
    assert "OOM" in " ".join(tuner["status"]["containers"][0]["reasons"]["memory"])
    again = await reconciler.cycle()
    assert again.oom_kills == 0, "the same kill is counted once"
    events = (await core.list_namespaced_event(namespace, field_selector="involvedObject.name=db")).items
    assert "OOMKilled" in {e.reason for e in events}


async def test_metrics_server_stopped_means_emergency_and_back_to_normal_after_it_returns(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await apps.create_namespaced_deployment(namespace, oversized_deployment("pay"))
    pod = await running_pod(core, namespace, "pay")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS,
                                                 tuner_manifest("pay", "pay", "Auto"))
    reconciler = Reconciler(KubeAccess(kube_api), _settings(namespace))

    async def resized(report: CycleReport) -> bool:
        p = await core.read_namespaced_pod(pod.metadata.name, namespace)
        return bool(p.spec.containers[0].resources.requests["cpu"] == "350m")

    await cycle_until(reconciler, resized, "the first in-place resize")

    async def phase() -> str:
        tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "pay")
        return str(tuner["status"]["phase"])

    e2e_cluster.stop_metrics_server()
    try:
        async def emergency(report: CycleReport) -> bool:
            return await phase() == "Emergency"

        await cycle_until(reconciler, emergency, "Emergency once metrics.k8s.io stops answering", timeout=90)
        tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "pay")
        available = next(c for c in tuner["status"]["conditions"] if c["type"] == "MetricsAvailable")
        assert available["status"] == "False" and available["reason"] == "MetricsMissing"
        for _ in range(3):
            report = await reconciler.cycle()
            assert report.resized_pods == 0 and report.samples == 0
        p = await core.read_namespaced_pod(pod.metadata.name, namespace)
        assert p.spec.containers[0].resources.requests["cpu"] == "350m", "nothing shrinks without metrics"
    finally:
        e2e_cluster.start_metrics_server()

    async def back(report: CycleReport) -> bool:
        return report.samples > 0 and await phase() == "BackToNormal"

    await cycle_until(reconciler, back, "BackToNormal once metrics return", timeout=120)
    events = (await core.list_namespaced_event(namespace, field_selector="involvedObject.name=pay")).items
    assert {"phase Emergency", "phase BackToNormal"} <= {e.message for e in events}


SCALED_OBJECTS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "scaledobjects.keda.sh"},
    "spec": {"group": "keda.sh", "scope": "Namespaced",
             "names": {"plural": "scaledobjects", "singular": "scaledobject", "kind": "ScaledObject"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


async def test_an_hpa_owned_by_a_keda_scaled_object_is_never_touched(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    from kubernetes_asyncio.client.exceptions import ApiException

    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    extensions = ApiextensionsV1Api(kube_api)
    try:
        await extensions.create_custom_resource_definition(SCALED_OBJECTS_CRD)
    except ApiException as exc:
        if exc.status != 409:
            raise

    async def keda_served() -> bool:
        try:
            await custom.list_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "scaledobjects")
        except ApiException:
            return False
        return True

    await eventually(keda_served, "the ScaledObject CRD to be served", timeout=30)
    scaled = await custom.create_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "scaledobjects", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "queue"},
        "spec": {"scaleTargetRef": {"name": "queue"}}})
    await apps.create_namespaced_deployment(namespace, deployment("queue", replicas=2, cpu_request="200m",
                                                                  usage_cpu="50m"))
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "keda-hpa-queue", "ownerReferences": [{
               "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "queue",
               "uid": scaled["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "queue"},
                    "minReplicas": 2, "maxReplicas": 6, "metrics": [{"type": "Resource", "resource": {
                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}
    autoscaling = AutoscalingV2Api(kube_api)
    await autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa)
    before = await autoscaling.read_namespaced_horizontal_pod_autoscaler("keda-hpa-queue", namespace)
    await running_pod(core, namespace, "queue")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, tuner_manifest(
        "queue", "queue", "Auto", horizontal={"recommender": "static", "gatheringSeconds": 0,
                                              "targetUtilizationPercent": 80, "minReplicas": 3}))
    reconciler = Reconciler(KubeAccess(kube_api), _settings(namespace))

    async def reported(report: CycleReport) -> bool:
        tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "queue")
        managed = [c for c in (tuner.get("status") or {}).get("conditions", []) if c["type"] == "HPAManaged"]
        return report.samples > 0 and bool(managed) and managed[0]["reason"] == "OwnedByKEDA"

    await cycle_until(reconciler, reported, "condition HPAManaged=False OwnedByKEDA")
    for _ in range(3):
        report = await reconciler.cycle()
        assert report.hpa_writes == 0
    after = await autoscaling.read_namespaced_horizontal_pod_autoscaler("keda-hpa-queue", namespace)
    assert after.spec.min_replicas == 2 and after.spec.metrics[0].resource.target.average_utilization == 50
    assert "rikugame" not in {f.manager for f in after.metadata.managed_fields or []}
    assert after.spec == before.spec
    hpas = (await autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace)).items
    assert [h.metadata.name for h in hpas] == ["keda-hpa-queue"], "no second HPA made beside KEDA's"


async def test_pods_that_cannot_resize_in_place_are_replaced_by_one_rolling_restart_with_decided_resources(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    from kubernetes_asyncio.client import AdmissionregistrationV1Api
    from operator_process import free_port

    from rikugame.cluster.certs import serving_certificate
    from rikugame.cluster.names import RESTARTED_AT
    from rikugame.manifests.install import mutating_webhook
    from rikugame.operator.service import OperatorService
    from rikugame.operator.webhook import WebhookTLS

    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    manifest = oversized_deployment("cache")
    manifest["spec"]["replicas"] = 2
    manifest["spec"]["template"]["spec"]["containers"][0]["resizePolicy"] = [
        {"resourceName": "cpu", "restartPolicy": "RestartContainer"}]
    await apps.create_namespaced_deployment(namespace, manifest)

    async def two_running() -> Any:
        pods = (await core.list_namespaced_pod(namespace, label_selector="app=cache")).items
        ready = [p for p in pods if p.status.phase == "Running" and (p.status.container_statuses or [])
                 and p.status.container_statuses[0].resources is not None]
        return ready if len(ready) == 2 else None

    before = await eventually(two_running, "two running cache pods", timeout=90)
    port = free_port()
    settings = OperatorSettings(metrics_interval_seconds=5, namespace=f"{namespace}-operator", webhook_port=port,
                                watch_namespaces=(namespace,), webhook_url=f"https://127.0.0.1:{port}/mutate",
                                webhook_configuration=f"rikugame-{namespace}")
    template = mutating_webhook(settings.namespace)
    template["metadata"]["name"] = settings.webhook_configuration
    service = OperatorService(KubeAccess(kube_api), settings, webhook_template=template)
    reviews: list[int] = []
    review = service._mutate

    async def counted(request: Any) -> Any:
        reviews.append(1)
        return await review(request)

    service._mutate = counted  # type: ignore[method-assign]
    cert = serving_certificate(["rikugame-webhook"], ["127.0.0.1"])
    hook = await service._start_webhook("127.0.0.1", WebhookTLS(cert.cert_pem, cert.key_pem, cert.ca_pem))
    assert hook is not None
    try:
        probe = {"metadata": {"generateName": "probe-"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}

        async def webhook_called() -> bool:  # the API server picks a new configuration up asynchronously
            await core.create_namespaced_pod(namespace, probe, dry_run="All")
            return bool(reviews)

        await eventually(webhook_called, "the API server to call the webhook", timeout=60)
        await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS,
                                                     tuner_manifest("cache", "cache", "Auto"))

        async def restarted(report: CycleReport) -> bool:
            return report.rolling_restarts > 0

        report = await cycle_until(service.reconciler, restarted, "a rolling restart instead of in-place resizes")
        assert report.resized_pods == 0, "never resized in place"
        old = {p.metadata.uid for p in before}

        async def replaced() -> Any:
            pods = (await core.list_namespaced_pod(namespace, label_selector="app=cache")).items
            live = [p for p in pods if p.metadata.deletion_timestamp is None]
            new = [p for p in live if p.metadata.uid not in old]
            return new if len(new) == 2 and len(live) == 2 else None

        new = await eventually(replaced, "the rollout to replace both pods", timeout=120)
        assert [p.spec.containers[0].resources.requests["cpu"] for p in new] == ["350m", "350m"], \
            "the new pods start with the decided resources (webhook)"
        deployment = await apps.read_namespaced_deployment("cache", namespace)
        assert RESTARTED_AT in (deployment.spec.template.metadata.annotations or {})
        assert deployment.spec.template.spec.containers[0].resources.requests["cpu"] == "500m"
        for _ in range(2):
            report = await service.reconciler.cycle()
            assert report.rolling_restarts == 0 and report.resized_pods == 0, "one restart, nothing to redo"
        events = (await core.list_namespaced_event(namespace, field_selector="involvedObject.name=cache")).items
        assert "RollingRestart" in {e.reason for e in events}
    finally:
        await hook.cleanup()
        await AdmissionregistrationV1Api(kube_api).delete_mutating_webhook_configuration(f"rikugame-{namespace}")


async def test_an_infeasible_resize_is_reported_in_the_status_and_not_asked_again(
        e2e_cluster: Cluster, kube_api: ApiClient, namespace: str, crds: Path) -> None:
    core, apps, custom = CoreV1Api(kube_api), AppsV1Api(kube_api), CustomObjectsApi(kube_api)
    await apps.create_namespaced_deployment(namespace, oversized_deployment("big"))
    pod = await running_pod(core, namespace, "big")
    # From now on the kwok stage pod-resize-infeasible answers this pod's resizes as a full node would.
    await core.patch_namespaced_pod(pod.metadata.name, namespace,
                                    {"metadata": {"annotations": {"rikugame.test/resize-infeasible": "yes"}}})
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS,
                                                 tuner_manifest("big", "big", "Auto"))
    reconciler = Reconciler(KubeAccess(kube_api), _settings(namespace))

    async def infeasible(report: CycleReport) -> bool:
        tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "big")
        resizes = (tuner.get("status") or {}).get("resizes") or []
        return bool(resizes) and resizes[0]["state"] == "Infeasible"

    await cycle_until(reconciler, infeasible, "the resize to be reported Infeasible")
    tuner = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TUNERS, "big")
    entry = tuner["status"]["resizes"][0]
    assert entry["pod"] == pod.metadata.name and "capacity" in entry["message"]
    assert entry["generation"] > pod.metadata.generation
    current = await core.read_namespaced_pod(pod.metadata.name, namespace)
    assert current.spec.containers[0].resources.requests["cpu"] == "350m", "asked for"
    assert current.status.container_statuses[0].resources.requests["cpu"] == "500m", "not applied"
    for _ in range(3):
        report = await reconciler.cycle()
        assert report.resized_pods == 0, "an Infeasible size is not asked again while the wanted size holds"
    events = (await core.list_namespaced_event(namespace, field_selector="involvedObject.name=big")).items
    assert "ResizeInfeasible" in {e.reason for e in events}
