"""`kubectl apply -k deploy/` on a real kube-apiserver creates every object `rikugame manifests` generates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeharness.cluster import Cluster
from kubeharness.kubectl import kubectl
from rikugame.manifests.install import NAME, install_objects
from rikugame.manifests.render import to_yaml

pytestmark = pytest.mark.api

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture
def applied_base(k8s_cluster: Cluster, crds: Path, tmp_path: Path) -> Iterator[str]:
    """deploy/ applied with kubectl; afterwards everything but the CRDs (shared by the session) is deleted, the
    webhook configuration first, so no other test's pods meet it."""
    out = kubectl(k8s_cluster, "apply", "-k", str(DEPLOY))
    yield out
    rest = [o for o in install_objects() if o["kind"] not in ("CustomResourceDefinition", "Namespace")]
    path = tmp_path / "rest.yaml"
    path.write_text(to_yaml(rest[::-1]))
    kubectl(k8s_cluster, "delete", "--wait=false", "--ignore-not-found", "-f", str(path))


def _get(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    args = ["get", f"{obj['kind'].lower()}.{obj['apiVersion'].split('/')[0]}" if "/" in obj["apiVersion"]
            else obj["kind"].lower(), meta["name"], "-o", "json"]
    if "namespace" in meta:
        args += ["-n", meta["namespace"]]
    found: dict[str, Any] = json.loads(kubectl(cluster, *args))
    return found


def test_kubectl_apply_k_deploy_creates_every_generated_object(k8s_cluster: Cluster, applied_base: str) -> None:
    generated = install_objects()
    assert len(applied_base.strip().splitlines()) == len(generated), applied_base
    for obj in generated:
        found = _get(k8s_cluster, obj)
        assert found["metadata"]["name"] == obj["metadata"]["name"]
    hook = _get(k8s_cluster, next(o for o in generated if o["kind"] == "MutatingWebhookConfiguration"))["webhooks"][0]
    assert (hook["failurePolicy"], hook["sideEffects"], hook["timeoutSeconds"]) == ("Ignore", "None", 5)
    assert hook["rules"][0]["operations"] == ["CREATE"] and hook["rules"][0]["resources"] == ["pods"]
    deployment = _get(k8s_cluster, next(o for o in generated if o["kind"] == "Deployment"))
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == NAME
