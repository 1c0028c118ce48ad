"""The generated Tuner and TunerCheckpoint CRDs on a real kube-apiserver, installed with kubectl.

pydantic (``TunerSpec``) and the API server (structural schema + CEL) must agree: every invalid spec below is
refused by both, each naming the same field, and every valid one is accepted by both (the server's defaults
then read back as pydantic's).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from kubeharness.cluster import Cluster
from kubeharness.errors import HarnessError
from kubeharness.kubectl import kubectl
from rikugame.core.policy import TunerSpec
from rikugame.core.tuner_checkpoint import TunerCheckpointSpec, checkpoint_spec
from rikugame.core.tuner_status import Phase, TunerStatus, actions_of, record_actions, status_from_decision
from rikugame.core.workload import ContainerResources, WorkloadTuning

pytestmark = pytest.mark.api

API = "/apis/rikugame.dev/v1alpha1"  # as conftest.TUNERS_API
TAGS = {"rikugame", "vpa", "tortoise", "krr-simple", "window"}


def tuner(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "rikugame.dev/v1alpha1", "kind": "Tuner", "metadata": {"name": name}, "spec": spec}


def create_tuner(cluster: Cluster, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """POST a Tuner with strict field validation (as kubectl does): unknown fields are errors, not pruned."""
    created: dict[str, Any] = cluster.kube.request("POST", f"{API}/namespaces/{namespace}/tuners", tuner(name, spec),
                                                   params={"fieldValidation": "Strict"})
    return created


def pydantic_names(error: ValidationError, field: str) -> bool:
    """Whether pydantic's first error names ``field`` (``bounds.minCpu``): as its location, or as a location
    that leads to it plus the rest of the path in its message (model validators speak for their fields)."""
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if p not in TAGS)
    if loc == field:
        return True
    rest = field[len(loc):].lstrip(".") if field.startswith(loc) else None
    return bool(rest) and rest in first["msg"]


def ref() -> dict[str, Any]:
    return {"name": "web"}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("min-cpu-above-max-cpu", {"targetRef": ref(), "bounds": {"minCpu": "20", "maxCpu": 2}}, "spec.bounds.minCpu"),
    ("min-memory-above-max-across-units", {"targetRef": ref(), "bounds": {"minMemory": "2Gi", "maxMemory": "1500Mi"}},
     "spec.bounds.minMemory"),
    ("min-cpu-above-default-max", {"targetRef": ref(), "bounds": {"minCpu": "11"}}, "spec.bounds.minCpu"),
    ("negative-integer-quantity", {"targetRef": ref(), "bounds": {"maxCpu": -1}}, "spec.bounds.maxCpu"),
    ("not-a-quantity", {"targetRef": ref(), "bounds": {"maxMemory": "lots"}}, "spec.bounds.maxMemory"),
    ("container-bounds-inverted", {"targetRef": ref(), "containers": [
        {"name": "app", "bounds": {"minCpu": "2", "maxCpu": "1"}}]}, "spec.containers[0].bounds.minCpu"),
    ("container-name-repeats", {"targetRef": ref(), "containers": [{"name": "app"}, {"name": "app"}]},
     "spec.containers"),
    ("unknown-mode", {"targetRef": ref(), "mode": "Sometimes"}, "spec.mode"),
    ("no-target", {"mode": "Off"}, "spec.targetRef"),
    ("empty-target-name", {"targetRef": {"name": ""}}, "spec.targetRef.name"),
    ("horizontal-on-daemonset", {"targetRef": {"name": "agent", "kind": "DaemonSet"}, "horizontal": {}},
     "spec.horizontal"),
    ("min-replicas-above-max", {"targetRef": ref(), "horizontal": {"minReplicas": 5, "maxReplicas": 4}},
     "spec.horizontal.minReplicas"),
    ("min-target-above-max-target", {"targetRef": ref(), "horizontal": {"minTargetUtilizationPercent": 95}},
     "spec.horizontal.minTargetUtilizationPercent"),
    ("replica-floor-above-cap", {"targetRef": ref(), "horizontal": {"minReplicasFloor": 11}},
     "spec.horizontal.minReplicasFloor"),
    ("target-above-100", {"targetRef": ref(), "horizontal": {"targetUtilizationPercent": 101}},
     "spec.horizontal.targetUtilizationPercent"),
    ("overload-budget-zero-exclusive", {"targetRef": ref(), "horizontal": {"overloadBudgetRatio": 0}},
     "spec.horizontal.overloadBudgetRatio"),
    ("settings-of-another-recommender", {"targetRef": ref(), "recommenderSettings": {"name": "vpa"}},
     "spec.recommenderSettings.name"),
    ("settings-without-name", {"targetRef": ref(), "recommenderSettings": {"minHistorySeconds": 60}},
     "spec.recommenderSettings.name"),
    ("knob-of-another-recommender", {"targetRef": ref(), "recommender": "vpa",
                                     "recommenderSettings": {"name": "vpa", "bufferRatio": 0.2}},
     "spec.recommenderSettings.bufferRatio"),
    ("percentile-zero-exclusive", {"targetRef": ref(), "recommender": "window",
                                   "recommenderSettings": {"name": "window", "cpuPercentile": 0}},
     "spec.recommenderSettings.cpuPercentile"),
    ("step-ratio-above-one", {"targetRef": ref(), "vertical": {"scaleDownMaxRatio": 1.5}},
     "spec.vertical.scaleDownMaxRatio"),
    ("memory-step-ratio-above-one", {"targetRef": ref(), "vertical": {"memoryScaleDownMaxRatio": 1.5}},
     "spec.vertical.memoryScaleDownMaxRatio"),
    ("memory-risk-knob-above-64gi", {"targetRef": ref(), "recommenderSettings": {
        "name": "rikugame", "memoryHeadroomCapBytes": 2**37}}, "spec.recommenderSettings.memoryHeadroomCapBytes"),
    ("decision-interval-below-a-minute", {"targetRef": ref(), "vertical": {"decisionIntervalSeconds": 30}},
     "spec.vertical.decisionIntervalSeconds"),
    ("unknown-field", {"targetRef": ref(), "bogus": 1}, "spec.bogus"),
]


@pytest.mark.parametrize(("spec", "field"), [(s, f) for _, s, f in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_spec_is_refused_by_pydantic_and_the_api_server_naming_the_field(
        k8s_cluster: Cluster, namespace: str, crds: Path, spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TunerSpec.model_validate(spec)
    pydantic_field = re.sub(r"\[(\d+)\]", r".\1", field.removeprefix("spec."))
    assert pydantic_names(refused.value, pydantic_field), f"pydantic's error does not name {field}: {refused.value}"

    with pytest.raises(httpx.HTTPStatusError) as rejected:
        create_tuner(k8s_cluster, namespace, "bad", spec)
    body = json.loads(rejected.value.response.text)
    assert rejected.value.response.status_code in (400, 422), body
    assert field in body["message"], f"the API server's error does not name {field}: {body['message']}"


VALID: list[tuple[str, dict[str, Any]]] = [
    ("minimal", {"targetRef": ref()}),
    ("auto-with-guardrails", {"targetRef": ref(), "mode": "Auto",
                              "vertical": {"scaleDownMaxRatio": 0.2, "scaleDownIntervalSeconds": 3600,
                                           "memoryScaleDownIntervalSeconds": 43200,
                                           "memoryScaleDownMaxRatio": 0.5, "oomMinBump": "200Mi"}}),
    ("integer-quantities", {"targetRef": ref(), "bounds": {"minCpu": 1, "maxCpu": 4, "maxMemory": 1073741824}}),
    ("per-container-overrides", {"targetRef": ref(), "containers": [
        {"name": "app", "bounds": {"minCpu": "100m", "maxCpu": "2", "minMemory": "128Mi", "maxMemory": "4Gi"}},
        {"name": "sidecar", "cpu": "Off", "memory": "Vertical"}]}),
    ("limits-policy", {"targetRef": ref(), "limits": {"cpu": "Proportional", "cpuLimitRatio": 1.5,
                                                      "memory": "Remove"}}),
    ("horizontal", {"targetRef": {"name": "api", "kind": "StatefulSet"}, "horizontal": {
        "recommender": "tortoise", "minReplicas": 2, "maxReplicas": 20, "minTargetUtilizationPercent": 50,
        "maxTargetUtilizationPercent": 80, "behavior": {"scaleDown": {
            "stabilizationWindowSeconds": 300, "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}}}),
    ("daemonset-vertical-only", {"targetRef": {"name": "agent", "kind": "DaemonSet"}}),
    ("settings-rikugame", {"targetRef": ref(), "recommenderSettings": {
        "name": "rikugame", "memoryWindowSeconds": 86400 * 3, "switchMargin": 0.2,
        "memoryHeadroomCapBytes": 536870912}}),
    ("settings-vpa", {"targetRef": ref(), "recommender": "vpa", "recommenderSettings": {
        "name": "vpa", "cpuPercentile": 0.95, "marginFraction": 0.1, "memoryIntervalSeconds": 3600}}),
    ("settings-tortoise", {"targetRef": ref(), "recommender": "tortoise", "recommenderSettings": {
        "name": "tortoise", "bufferRatio": 0.2, "cpuPercentile": 0.9}}),
    ("settings-krr-simple", {"targetRef": ref(), "recommender": "krr-simple", "recommenderSettings": {
        "name": "krr-simple", "windowSeconds": 86400 * 7, "memoryBufferFraction": 0.2}}),
    ("settings-window", {"targetRef": ref(), "recommender": "window", "recommenderSettings": {
        "name": "window", "memoryPercentile": 0.99, "minHistorySeconds": 3600}}),
]


@pytest.mark.parametrize("spec", [s for _, s in VALID], ids=[i for i, _ in VALID])
def test_valid_spec_is_accepted_by_both_and_server_defaults_read_back_as_pydantic_defaults(
        k8s_cluster: Cluster, namespace: str, crds: Path, spec: dict[str, Any]) -> None:
    expected = TunerSpec.model_validate(spec)
    created = create_tuner(k8s_cluster, namespace, "good", spec)
    assert TunerSpec.model_validate(created["spec"]) == expected
    assert created["spec"]["mode"] == expected.mode.value, "the CRD's default mode is pydantic's"


def fed_tuning(spec: TunerSpec, containers: list[str], days: int) -> WorkloadTuning:
    """A WorkloadTuning fed ``days`` of minute samples per container (noisy, different per container)."""
    tuning = WorkloadTuning(spec, containers)
    tuning.set_current({c: ContainerResources(500, 512 * 2**20, -1, 512 * 2**20) for c in containers})
    rng = np.random.default_rng(7)
    t0 = 1_700_000_000
    for hour in range(days * 24):
        ts = t0 + hour * 3600 + np.arange(60) * 60
        for k, name in enumerate(containers):
            cpu = 0.1 * (k + 1) * (1 + 0.5 * np.sin(hour / 24 * 2 * np.pi)) + rng.gamma(2, 0.02, 60)
            mem = 2**28 * (k + 1) + rng.normal(0, 2**22, 60).cumsum().clip(-2**26, 2**26)
            tuning.observe_container(name, ts, cpu, mem)
        tuning.observe_replicas(int(ts[-1]), 3, 3.0, 0.3)
        tuning.advance(int(ts[-1]))
    return tuning


def test_printer_columns_and_a_status_from_the_core_through_the_status_subresource(
        k8s_cluster: Cluster, namespace: str, crds: Path) -> None:
    spec = {"targetRef": ref(), "mode": "Auto", "recommender": "vpa"}
    created = create_tuner(k8s_cluster, namespace, "web", spec)
    tuning = fed_tuning(TunerSpec.model_validate(spec), ["app", "sidecar"], days=2)
    now = "2026-12-01T22:00:00Z"
    decision = tuning.decide(1_700_000_000 + 2 * 86400)
    status = record_actions(status_from_decision(decision, generation=created["metadata"]["generation"],
                                                 phase=Phase.WORKING, now_rfc3339=now, previous=None,
                                                 target="Deployment/web"), actions_of(decision, now))
    assert status.last_actions, "the fed tuning resizes something"
    body = {"status": status.model_dump(mode="json", by_alias=True, exclude_none=True)}
    patched = k8s_cluster.kube.request(
        "PATCH", f"{API}/namespaces/{namespace}/tuners/web/status", body,
        content_type="application/merge-patch+json", params={"fieldValidation": "Strict"})
    assert TunerStatus.model_validate(patched["status"]) == status
    assert patched["metadata"]["generation"] == created["metadata"]["generation"], "status writes keep generation"

    out = kubectl(k8s_cluster, "get", "tuners", "-n", namespace).splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == ["NAME", "MODE", "TARGET", "PHASE", "LAST ACTION", "AGE"]
    assert re.split(r"\s{2,}", out[1].strip())[:5] == ["web", "Auto", "Deployment/web", "Working",
                                                       status.last_action]
    short = kubectl(k8s_cluster, "get", "tuner", "web", "-n", namespace, "-o", "jsonpath={.status.phase}")
    assert short == "Working", "the short name `tuner` resolves"


def test_status_subresource_refuses_a_status_outside_the_model(
        k8s_cluster: Cluster, namespace: str, crds: Path) -> None:
    create_tuner(k8s_cluster, namespace, "web", {"targetRef": ref()})
    with pytest.raises(httpx.HTTPStatusError) as rejected:
        k8s_cluster.kube.request(
            "PATCH", f"{API}/namespaces/{namespace}/tuners/web/status", {"status": {"phase": "Sleeping"}},
            content_type="application/merge-patch+json")
    assert "status.phase" in rejected.value.response.text


def test_a_30_kb_workload_checkpoint_round_trips_through_a_tunercheckpoint_byte_for_byte(
        k8s_cluster: Cluster, namespace: str, crds: Path) -> None:
    spec = TunerSpec.model_validate({"targetRef": ref(), "mode": "Auto", "horizontal": {"recommender": "rikugame"}})
    tuning = fed_tuning(spec, ["app", "sidecar", "proxy", "logger"], days=8)
    checkpoint = checkpoint_spec("web", tuning.to_checkpoint())
    assert len(checkpoint.data) >= 30_000, f"checkpoint only {len(checkpoint.data)} bytes"
    body = {"apiVersion": "rikugame.dev/v1alpha1", "kind": "TunerCheckpoint",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": checkpoint.model_dump(mode="json", by_alias=True)}
    k8s_cluster.kube.request("PATCH", f"{API}/namespaces/{namespace}/tunercheckpoints/web", body,
                             content_type="application/apply-patch+yaml",
                             params={"fieldManager": "rikugame", "force": "true", "fieldValidation": "Strict"})
    read = k8s_cluster.kube.get(f"{API}/namespaces/{namespace}/tunercheckpoints/web")
    stored = TunerCheckpointSpec.model_validate(read["spec"])
    assert stored.data == checkpoint.data
    restored = WorkloadTuning.from_checkpoint(spec, stored.checkpoint())
    now = 1_700_000_000 + 8 * 86400
    assert restored.decide(now, replicas=3).status() == tuning.decide(now, replicas=3).status()
    fields = json.dumps(read["metadata"]["managedFields"])
    assert len(fields) < 1000, "server-side apply tracks spec.data as one field, not the checkpoint's tree"


@pytest.mark.parametrize(("spec", "message"), [
    ({"targetRef": ref(), "bounds": {"minCpu": "4", "maxCpu": "2"}}, "spec.bounds.minCpu"),
    ({"targetRef": ref(), "bogus": 1}, 'unknown field "spec.bogus"'),
], ids=["cel-rule", "unknown-field"])
def test_kubectl_apply_of_an_invalid_tuner_fails_naming_the_field(
        k8s_cluster: Cluster, namespace: str, crds: Path, tmp_path: Path, spec: dict[str, Any], message: str) -> None:
    path = tmp_path / "tuner.yaml"
    path.write_text(json.dumps({**tuner("web", spec), "metadata": {"name": "web", "namespace": namespace}}))
    with pytest.raises(HarnessError) as failed:
        kubectl(k8s_cluster, "apply", "-f", str(path))
    assert message in str(failed.value)
